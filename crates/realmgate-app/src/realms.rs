//! Realm lifecycle and resolution. A realm is a handful of rows: creating one is a constant
//! number of inserts, and nothing is loaded or held for it until a request names it.

use crate::cache_key::KeyPart;
use crate::ttl_cache::{Lookup, note_miss};
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{
    Client, ClientAuthMethod, ClientUuid, Realm, RealmId, RealmName, RealmSettings, Role, RoleId,
};
use realmgate_store::StoreError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The built-in client holding realm administration roles, as in Keycloak.
pub const REALM_MANAGEMENT: &str = "realm-management";
pub const REALM_ADMIN_ROLE: &str = "realm-admin";
/// The master realm role that administers every realm.
pub const MASTER_ADMIN_ROLE: &str = "admin";

/// What a caller may set when creating or updating a realm.
#[derive(Debug, Clone, Default)]
pub struct RealmInput {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub settings: Option<RealmSettings>,
}

/// The next [`RealmCtx::generation`].
static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl App {
    /// Resolves a realm by the name in the URL. An unknown realm is an error, never a default.
    /// A busy realm is re-read ahead of its cache TTL, in the background.
    pub async fn realm(&self, name: &str) -> Result<Arc<RealmCtx>, AppError> {
        match self.caches().realms.lookup(&KeyPart::of(name)) {
            Some(Lookup::Fresh(ctx)) => return Ok(ctx),
            Some(Lookup::Due(ctx, refresh)) => {
                let (app, name) = (self.clone(), name.to_owned());
                self.refresh_ahead(refresh, "realm", move || async move {
                    // Gone (deleted or renamed): `load_realm` dropped the entry, nothing to log.
                    match app.load_realm(&name).await {
                        Ok(_) | Err(AppError::NotFound(_)) => Ok(()),
                        Err(e) => Err(e),
                    }
                });
                return Ok(ctx);
            }
            None => note_miss("realm"),
        }
        if RealmName::parse(name).is_err() {
            return Err(AppError::NotFound("realm"));
        }
        self.load_realm(name).await
    }

    /// Reads the realm by name and caches its context; a realm that is gone leaves the cache.
    async fn load_realm(&self, name: &str) -> Result<Arc<RealmCtx>, AppError> {
        let stamp = self.caches().realm_stamp();
        let found = self
            .store()
            .system_read()
            .await?
            .realm_by_name(name)
            .await?;
        let Some(realm) = found else {
            self.caches().realms.invalidate(&KeyPart::of(name));
            return Err(AppError::NotFound("realm"));
        };
        // A re-read that finds the realm unchanged keeps the cached context (its discovery
        // document and entity tag) and only extends its TTL.
        let ctx = match self.caches().realms.get(&KeyPart::of(name)) {
            Some(cached) if cached.realm == realm => cached,
            _ => Arc::new(self.realm_ctx(realm)?),
        };
        self.caches()
            .insert_realm(name.to_owned(), stamp, ctx.clone());
        Ok(ctx)
    }

    fn realm_ctx(&self, realm: Realm) -> Result<RealmCtx, AppError> {
        let issuer = self.issuer_for(realm.name.as_str());
        let doc = realmgate_oidc::discovery::metadata(&issuer, &["RS256", "ES256", "EdDSA"]);
        let discovery = serde_json::to_vec(&doc).map_err(AppError::internal)?;
        let discovery_etag = crate::app::bytes_like::etag(&discovery);
        Ok(RealmCtx {
            realm,
            token_endpoint: format!("{issuer}/protocol/openid-connect/token"),
            issuer,
            discovery: discovery.into(),
            discovery_etag,
            generation: NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    pub async fn realm_by_id(&self, id: &RealmId) -> Result<Realm, AppError> {
        self.store()
            .system_read()
            .await?
            .realm_by_id(id)
            .await?
            .ok_or(AppError::NotFound("realm"))
    }

    /// A page of realms ordered by name (`max` < 0 means all).
    pub async fn list_realms_page(&self, first: i64, max: i64) -> Result<Vec<Realm>, AppError> {
        let max = if max < 0 { i64::MAX } else { max };
        Ok(self
            .store()
            .system_read()
            .await?
            .list_realms(first.max(0), max)
            .await?)
    }

    pub async fn list_realms(&self) -> Result<Vec<Realm>, AppError> {
        Ok(self
            .store()
            .system_read()
            .await?
            .list_realms(0, i64::MAX)
            .await?)
    }

    /// Creates a realm with its built-in roles and the `realm-management` client: 6 inserts. The
    /// store places it on a shard (the lowest realm count per weight).
    pub async fn create_realm(&self, input: RealmInput) -> Result<Realm, AppError> {
        self.create_realm_on(input, None).await
    }

    /// [`App::create_realm`] on the named shard (`None`: placement decides). An unknown or
    /// draining shard is an invalid request.
    pub async fn create_realm_on(
        &self,
        input: RealmInput,
        shard: Option<&str>,
    ) -> Result<Realm, AppError> {
        let name = RealmName::parse(input.name.as_deref().unwrap_or(""))?;
        let now = self.now();
        let realm = Realm {
            id: RealmId::new(),
            name: name.clone(),
            display_name: input.display_name,
            enabled: input.enabled.unwrap_or(true),
            settings: input.settings.unwrap_or_default(),
            created_at: now,
        };
        // The directory row carries the shard; seeding below goes through the realm's route.
        let mut sys = self.store().system().await?;
        sys.insert_realm_on(&realm, shard)
            .await
            .map_err(|e| match e {
                StoreError::Shard(msg) => AppError::Invalid(msg),
                other => other.into(),
            })?;
        sys.commit().await?;

        let seeded = self.seed_realm(&realm).await;
        if let Err(e) = seeded {
            // Leave nothing half-made behind.
            if let Ok(mut sys) = self.store().system().await {
                let _ = sys.delete_realm(&realm.id).await;
                let _ = sys.commit().await;
            }
            return Err(e);
        }
        Ok(realm)
    }

    async fn seed_realm(&self, realm: &Realm) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.store().realm(&realm.id).await?;
        for (name, desc) in [
            (
                default_role_name(realm.name.as_str()),
                "${role_default-roles}",
            ),
            ("offline_access".to_owned(), "${role_offline-access}"),
            ("uma_authorization".to_owned(), "${role_uma_authorization}"),
        ] {
            tx.insert_role(&Role {
                id: RoleId::new(),
                name,
                description: Some(desc.to_owned()),
                client: None,
                attributes: BTreeMap::new(),
            })
            .await?;
        }
        let mgmt = builtin_client(REALM_MANAGEMENT, now);
        tx.insert_client(&mgmt).await?;
        tx.insert_role(&Role {
            id: RoleId::new(),
            name: REALM_ADMIN_ROLE.to_owned(),
            description: Some("${role_realm-admin}".to_owned()),
            client: Some(mgmt.id.clone()),
            attributes: BTreeMap::new(),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_realm(&self, current: &str, input: RealmInput) -> Result<Realm, AppError> {
        let ctx = self.realm(current).await?;
        let mut realm = ctx.realm.clone();
        if let Some(n) = input.name.filter(|n| n != realm.name.as_str()) {
            if realm.name.as_str() == "master" {
                return Err(AppError::invalid("the master realm cannot be renamed"));
            }
            realm.name = RealmName::parse(&n)?;
        }
        if let Some(d) = input.display_name {
            realm.display_name = Some(d);
        }
        if let Some(e) = input.enabled {
            realm.enabled = e;
        }
        if let Some(s) = input.settings {
            realm.settings = s;
        }
        let renamed = realm.name.as_str() != current;
        let mut sys = self.store().system().await?;
        sys.update_realm(&realm).await?;
        sys.commit().await?;
        if renamed {
            // The default role is named after the realm; keep it granted to new users.
            let mut tx = self.store().realm(&realm.id).await?;
            if let Some(mut role) = tx.role_by_name(None, &default_role_name(current)).await? {
                role.name = default_role_name(realm.name.as_str());
                tx.update_role(&role).await?;
            }
            tx.commit().await?;
        }
        for name in [current, realm.name.as_str()] {
            self.invalidate(crate::Invalidation::Realm {
                name: name.to_owned(),
                id: realm.id.clone(),
            })
            .await;
        }
        Ok(realm)
    }

    pub async fn delete_realm(&self, name: &str) -> Result<(), AppError> {
        if name == "master" {
            return Err(AppError::invalid("the master realm cannot be deleted"));
        }
        let ctx = self.realm(name).await?;
        let mut sys = self.store().system().await?;
        sys.delete_realm(ctx.id()).await?;
        sys.commit().await?;
        self.invalidate(crate::Invalidation::Realm {
            name: name.to_owned(),
            id: ctx.id().clone(),
        })
        .await;
        Ok(())
    }
}

/// A bearer-only built-in client such as `realm-management`.
pub(crate) fn builtin_client(client_id: &str, now: i64) -> Client {
    Client {
        id: ClientUuid::new(),
        client_id: client_id.to_owned(),
        name: Some(format!("${{client_{client_id}}}")),
        description: None,
        enabled: true,
        auth_method: ClientAuthMethod::Secret,
        secret_sealed: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        web_origins: vec![],
        root_url: None,
        base_url: None,
        bearer_only: true,
        consent_required: false,
        standard_flow: false,
        direct_access_grants: false,
        service_accounts: false,
        full_scope_allowed: false,
        optional_scopes: vec![],
        default_scopes: vec![],
        attributes: BTreeMap::new(),
        created_at: now,
    }
}

/// Keycloak's per-realm default role, granted to every new user.
pub fn default_role_name(realm: &str) -> String {
    format!("default-roles-{}", realm.to_lowercase())
}
