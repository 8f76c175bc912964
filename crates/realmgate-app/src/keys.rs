//! Per-realm signing keys: generated when first needed (so creating a realm stays cheap), sealed
//! with the master key at rest, parsed once into the cache, rotated next → active → retired with
//! every key still published in the JWKS during the overlap.

use crate::cache_key::KeyPart;
use crate::ttl_cache::{Lookup, note_miss};
use crate::{App, AppError};
use realmgate_crypto::{SigAlg, SigningKey, VerifyingKey};
use realmgate_domain::{KeyStatus, RealmId, StoredKey};
use std::str::FromStr;
use std::sync::Arc;

const KEY_PURPOSE: &str = "signing-key";

/// The keys of one realm, ready to sign and verify.
pub struct RealmKeys {
    /// The active signer per algorithm, in `SigAlg::ALL` order: a fixed array, not a map, so
    /// finding the signer touches no memory beyond this struct (at 100,000 realms, each such
    /// touch is a likely cache miss).
    active: [Option<Arc<SigningKey>>; SigAlg::ALL.len()],
    /// Every published key (next, active, retired).
    pub verifiers: Vec<VerifyingKey>,
    /// The JWKS document, serialised once, and its entity tag.
    pub jwks: crate::app::bytes_like::Bytes,
    pub jwks_etag: String,
    /// What these were built from: every stored key's id and status, newest first. A re-read
    /// that finds the same keeps this value (see `App::load_keys`).
    source: Vec<(String, KeyStatus)>,
    /// The realm's configuration revision these were last read at (see `App::revalidate_ahead`).
    rev: crate::refresher::SeenAt,
}

impl RealmKeys {
    pub fn signer(&self, alg: SigAlg) -> Option<&Arc<SigningKey>> {
        self.active.get(slot(alg))?.as_ref()
    }

    /// Whether these keys were built from exactly `stored` (same ids, statuses and order).
    fn built_from(&self, stored: &[StoredKey]) -> bool {
        self.source.len() == stored.len()
            && self
                .source
                .iter()
                .zip(stored)
                .all(|((kid, status), k)| *kid == k.kid && *status == k.status)
    }
}

/// The index of `alg` in `SigAlg::ALL` (and in `RealmKeys::active`).
fn slot(alg: SigAlg) -> usize {
    match alg {
        SigAlg::RS256 => 0,
        SigAlg::ES256 => 1,
        SigAlg::EdDSA => 2,
    }
}

impl App {
    /// The realm's keys as stored (for verification). Keys are created per algorithm when first
    /// needed: signing creates the key of its algorithm, the JWKS creates the RS256 key.
    /// Busy realms' keys are re-read ahead of their cache TTL, in the background and on the
    /// realm's key lock like every other read of them.
    pub async fn realm_keys(&self, realm: &RealmId) -> Result<Arc<RealmKeys>, AppError> {
        match self.caches().keys.lookup(&KeyPart::of(realm.as_str())) {
            Some(Lookup::Fresh(keys)) => return Ok(keys),
            Some(Lookup::Due(keys, refresh)) => {
                let (app, realm) = (self.clone(), realm.clone());
                let part = KeyPart::of(realm.as_str());
                self.revalidate_ahead(
                    refresh,
                    "keys",
                    (realm.clone(), |r| r.keys, keys.rev.get()),
                    move |app, expires| app.caches().keys.renew(&part, expires, |_| true),
                    move || async move {
                        let _turn = app.key_lock(&realm).lock().await;
                        let keys = app.load_keys(&realm, None).await?;
                        app.caches().keys.insert(KeyPart::of(realm.as_str()), keys);
                        Ok::<(), AppError>(())
                    },
                );
                return Ok(keys);
            }
            None => note_miss("keys"),
        }
        self.caches()
            .keys
            .get_or_try_insert_with(&KeyPart::of(realm.as_str()), async {
                // Not while this node generates one of the realm's keys (see `signer`).
                let _turn = self.key_lock(realm).lock().await;
                self.load_keys(realm, None).await
            })
            .await
    }

    /// The keys to publish. The key of the realm's default signature algorithm (RS256 unless the
    /// realm says otherwise; what ID tokens are signed with) always exists there, so an RP that
    /// fetches the JWKS before its first login can verify that login's ID token. Keys of other
    /// algorithms appear when first used, as at any key rotation. An ES256 or EdDSA realm never
    /// pays for an RSA key generation (~100 ms of CPU) it does not use.
    pub async fn jwks(&self, realm: &crate::RealmCtx) -> Result<Arc<RealmKeys>, AppError> {
        let alg = SigAlg::from_str(&realm.realm.settings.default_signature_algorithm)
            .unwrap_or(SigAlg::RS256);
        // One cache read when the key exists (every JWKS but a realm's first).
        let keys = self.realm_keys(realm.id()).await?;
        if keys.signer(alg).is_some() {
            return Ok(keys);
        }
        self.signer(realm.id(), alg).await?;
        self.realm_keys(realm.id()).await
    }

    /// The active signer for `alg`, generating the realm's first key of that algorithm if needed.
    ///
    /// Generation, rotation and the store reads that build a realm's cached keys take turns on a
    /// per-realm lock of this node (`App::key_lock`). So no two requests here generate a key of the same algorithm, and a
    /// view of the keys read before a generation committed never replaces the one read after it
    /// (the JWKS would miss the key that signs). Other nodes drop their view on the
    /// invalidation `load_keys` publishes.
    pub async fn signer(&self, realm: &RealmId, alg: SigAlg) -> Result<Arc<SigningKey>, AppError> {
        let keys = self.realm_keys(realm).await?;
        if let Some(k) = keys.signer(alg) {
            return Ok(k.clone());
        }
        let _turn = self.key_lock(realm).lock().await;
        let keys = self.load_keys(realm, Some(alg)).await?;
        self.caches()
            .keys
            .insert(KeyPart::of(realm.as_str()), keys.clone());
        keys.signer(alg)
            .cloned()
            .ok_or_else(|| AppError::internal("no signing key after generation"))
    }

    async fn load_keys(
        &self,
        realm: &RealmId,
        ensure: Option<SigAlg>,
    ) -> Result<Arc<RealmKeys>, AppError> {
        let (mut rev, mut stored) = self.stored_keys(realm).await?;
        let has = |alg: SigAlg, keys: &[StoredKey]| {
            keys.iter()
                .any(|k| k.status == KeyStatus::Active && k.alg == alg.as_str())
        };
        let missing: Vec<SigAlg> = ensure
            .into_iter()
            .filter(|alg| !has(*alg, &stored))
            .collect();
        if !missing.is_empty() {
            // Generate before opening the write transaction: RSA generation takes tens of ms.
            let mut fresh = Vec::new();
            for alg in missing {
                fresh.push(self.new_stored_key(realm, alg, KeyStatus::Active).await?);
            }
            let mut tx = self.store().realm(realm).await?;
            for key in &fresh {
                tx.insert_key(key).await?;
            }
            tx.commit().await?;
            // Other nodes publish the new key in their JWKS now, not after their cache's TTL.
            self.invalidate(crate::Invalidation::Keys {
                realm: realm.clone(),
            })
            .await;
            (rev, stored) = self.stored_keys(realm).await?;
        }
        // Unchanged since cached (the background re-read of a busy realm, nearly always): keep
        // the keys as they are, without unsealing and parsing each one and re-serialising the
        // JWKS again. A key's material never changes under its id; only its status does.
        if let Some(cached) = self.caches().keys.get(&KeyPart::of(realm.as_str()))
            && cached.built_from(&stored)
        {
            cached.rev.set(rev);
            return Ok(cached);
        }
        self.build_keys(realm, &stored, rev)
    }

    /// The realm's keys revision and its stored keys, read in one transaction.
    async fn stored_keys(&self, realm: &RealmId) -> Result<(i64, Vec<StoredKey>), AppError> {
        let mut tx = self.store().realm_read(realm).await?;
        let rev = tx.config_revision().await?.keys;
        Ok((rev, tx.keys().await?))
    }

    fn build_keys(
        &self,
        realm: &RealmId,
        stored: &[StoredKey],
        rev: i64,
    ) -> Result<Arc<RealmKeys>, AppError> {
        let mut active: [Option<Arc<SigningKey>>; SigAlg::ALL.len()] = Default::default();
        let mut verifiers = Vec::new();
        let mut jwks = Vec::new();
        // `stored` is newest first, so the newest active key of an algorithm wins.
        for k in stored {
            let jwk: serde_json::Value = serde_json::from_str(&k.public_jwk)
                .map_err(|_| AppError::internal("stored JWK is not JSON"))?;
            verifiers.push(VerifyingKey::from_jwk(&jwk)?);
            jwks.push(jwk);
            if k.status == KeyStatus::Active {
                let alg = SigAlg::from_str(&k.alg)
                    .map_err(|_| AppError::internal("unknown key algorithm"))?;
                if let Some(e @ None) = active.get_mut(slot(alg)) {
                    let der = self.open(realm, KEY_PURPOSE, &k.private_sealed)?;
                    *e = Some(Arc::new(SigningKey::from_pkcs8(alg, k.kid.clone(), &der)?));
                }
            }
        }
        let doc = serde_json::to_vec(&serde_json::json!({ "keys": jwks }))
            .map_err(|_| AppError::internal("cannot serialise JWKS"))?;
        let jwks_etag = crate::app::bytes_like::etag(&doc);
        Ok(Arc::new(RealmKeys {
            active,
            verifiers,
            jwks: doc.into(),
            jwks_etag,
            source: stored.iter().map(|k| (k.kid.clone(), k.status)).collect(),
            rev: crate::refresher::SeenAt::new(rev),
        }))
    }

    async fn new_stored_key(
        &self,
        realm: &RealmId,
        alg: SigAlg,
        status: KeyStatus,
    ) -> Result<StoredKey, AppError> {
        let key = self.fresh_key(alg).await?;
        let der = key.to_pkcs8()?;
        Ok(StoredKey {
            kid: key.kid().to_owned(),
            alg: alg.as_str().to_owned(),
            status,
            private_sealed: self.seal(realm, KEY_PURPOSE, &der)?,
            public_jwk: key.public_jwk().to_string(),
            created_at: self.now(),
        })
    }

    /// Rotates one algorithm's keys: retired keys are dropped, the active key retires (still
    /// published so tokens it signed keep verifying), the `next` key (or a new one) becomes active,
    /// and a fresh `next` key is published ahead of its use.
    pub async fn rotate_keys(&self, realm: &RealmId, alg: SigAlg) -> Result<(), AppError> {
        let spare_active = self.new_stored_key(realm, alg, KeyStatus::Active).await?;
        let next = self.new_stored_key(realm, alg, KeyStatus::Next).await?;
        // A load of the keys on this node reads before or after this rotation, never during.
        let _turn = self.key_lock(realm).lock().await;
        let mut tx = self.store().realm(realm).await?;
        let keys = tx.keys().await?;
        let mine: Vec<&StoredKey> = keys.iter().filter(|k| k.alg == alg.as_str()).collect();
        for k in mine.iter().filter(|k| k.status == KeyStatus::Retired) {
            tx.delete_key(&k.kid).await?;
        }
        for k in mine.iter().filter(|k| k.status == KeyStatus::Active) {
            tx.set_key_status(&k.kid, KeyStatus::Retired).await?;
        }
        match mine.iter().find(|k| k.status == KeyStatus::Next) {
            Some(next) => tx.set_key_status(&next.kid, KeyStatus::Active).await?,
            None => tx.insert_key(&spare_active).await?,
        }
        tx.insert_key(&next).await?;
        tx.commit().await?;
        self.invalidate(crate::Invalidation::Keys {
            realm: realm.clone(),
        })
        .await;
        Ok(())
    }

    /// Lists the realm's keys for the admin API (public parts only).
    pub async fn list_keys(&self, realm: &RealmId) -> Result<Vec<StoredKey>, AppError> {
        Ok(self.store().realm_read(realm).await?.keys().await?)
    }
}
