//! Role claims of a user: effective realm and client roles (direct, through groups, and
//! composites), shaped as Keycloak's `realm_access` / `resource_access`, cached per user.

use crate::ttl_cache::{Lookup, note_miss};
use crate::{App, AppError};
use realmgate_domain::{RealmId, UserId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleClaims {
    pub realm: Vec<String>,
    /// clientId → role names.
    pub clients: BTreeMap<String, Vec<String>>,
    /// Organization memberships: alias → (org id, per-org roles).
    pub orgs: BTreeMap<String, (String, Vec<String>)>,
    /// The realm's configuration revision these were read at (see `App::revalidate_ahead`).
    rev: i64,
}

impl App {
    /// The user's role claims, from the cache (busy ones re-read ahead of their TTL, in the
    /// background).
    pub async fn role_claims(
        &self,
        realm: &RealmId,
        user: &UserId,
    ) -> Result<Arc<RoleClaims>, AppError> {
        let key = (realm.clone(), user.clone());
        match self.caches().roles.lookup(&key) {
            Some(Lookup::Fresh(c)) => return Ok(c),
            Some(Lookup::Due(c, refresh)) => {
                let (app, cached) = (self.clone(), key.clone());
                self.revalidate_ahead(
                    refresh,
                    "role claims",
                    (realm.clone(), |r| r.config, c.rev),
                    move |app, expires| app.caches().roles.renew(&cached, expires),
                    move || async move { app.load_role_claims(key).await.map(drop) },
                );
                return Ok(c);
            }
            None => note_miss("role claims"),
        }
        self.load_role_claims(key).await
    }

    async fn load_role_claims(&self, key: (RealmId, UserId)) -> Result<Arc<RoleClaims>, AppError> {
        let (realm, user) = (&key.0, &key.1);
        let stamp = self.caches().roles.stamp(realm);
        let mut tx = self.store().realm_read(realm).await?;
        let rev = tx.config_revision().await?.config;
        let roles = tx.effective_roles(user).await?;
        let mut realm_roles = BTreeSet::new();
        let mut by_client: HashMap<_, BTreeSet<String>> = HashMap::new();
        for r in roles {
            match r.client {
                None => {
                    realm_roles.insert(r.name);
                }
                Some(c) => {
                    by_client.entry(c).or_default().insert(r.name);
                }
            }
        }
        let mut clients = BTreeMap::new();
        for (uuid, names) in by_client {
            if let Some(c) = tx.client_by_uuid(&uuid).await? {
                clients.insert(c.client_id, names.into_iter().collect());
            }
        }
        let orgs = tx
            .user_orgs(user)
            .await?
            .into_iter()
            .filter(|(o, _)| o.enabled)
            .map(|(o, m)| (o.alias, (o.id.0, m.roles)))
            .collect();
        let claims = Arc::new(RoleClaims {
            realm: realm_roles.into_iter().collect(),
            clients,
            orgs,
            rev,
        });
        self.caches().roles.insert(key, stamp, claims.clone());
        Ok(claims)
    }
}
