//! The application object: configuration, store, crypto and the caches shared by every request.

use crate::AppError;
use crate::cache::Caches;
use crate::ttl_cache::Refresh;
use realmgate_crypto::{MasterKey, PasswordHasher};
use realmgate_domain::{Clock, Realm, RealmId};
use realmgate_store::{RealmRevision, Store};
use std::sync::Arc;

/// Settings the app needs from the server's configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The externally visible base URL, without a trailing slash (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Cookies get `Secure` and the `__Host-` prefix when the public URL is https.
    pub secure_cookies: bool,
    /// Entries per cache (realms, clients, keys, role claims).
    pub cache_capacity: u64,
    /// Cached users and token states are re-read from the store at least this often, even
    /// without a change notification (busy ones ahead of time, in the background).
    pub subject_ttl: std::time::Duration,
    /// The same for realms, clients, keys, role claims and verified tokens.
    pub safety_ttl: std::time::Duration,
}

impl AppConfig {
    pub fn new(public_url: &str) -> Self {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Self {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
            cache_capacity: 250_000,
            subject_ttl: crate::cache::SUBJECT_TTL,
            safety_ttl: crate::cache::SAFETY_TTL,
        }
    }
}

/// A resolved realm, as the hot paths see it: loaded once into the cache, shared by reference.
#[derive(Debug)]
pub struct RealmCtx {
    pub realm: Realm,
    /// `{public_url}/realms/{name}` — the exact `iss` of every token of this realm.
    pub issuer: String,
    /// `{issuer}/protocol/openid-connect/token`, an audience a client assertion may name.
    pub token_endpoint: String,
    /// The discovery document, serialised once, and its entity tag.
    pub discovery: bytes_like::Bytes,
    pub discovery_etag: String,
    /// Unique to this value in the process: what a memo derived from it (`token::cc_memo`)
    /// compares, instead of the realm's fields, to know it was built for the same realm as read.
    pub(crate) generation: u64,
}

impl RealmCtx {
    pub fn id(&self) -> &RealmId {
        &self.realm.id
    }
    pub fn name(&self) -> &str {
        self.realm.name.as_str()
    }
    pub fn display_name(&self) -> &str {
        self.realm
            .display_name
            .as_deref()
            .filter(|d| !d.is_empty())
            .unwrap_or(self.realm.name.as_str())
    }
}

/// Pre-serialised response bodies are plain `Arc<[u8]>`s: cheap to clone per request.
pub mod bytes_like {
    pub type Bytes = std::sync::Arc<[u8]>;

    /// A strong entity tag for a pre-serialised body, computed once with it.
    pub fn etag(body: &[u8]) -> String {
        let digest = realmgate_crypto::hmac_sha256(b"realmgate-etag", body);
        format!("\"{}\"", &realmgate_crypto::b64url(&digest)[..22])
    }
}

/// Key locks: realms sharing one only take turns when they load or write keys at the same time.
const KEY_LOCKS: usize = 1024;

#[derive(Clone)]
pub struct App(Arc<Inner>);

pub(crate) struct Inner {
    pub store: Store,
    pub master: MasterKey,
    pub refresh_key: realmgate_crypto::RefreshTokenKey,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub config: AppConfig,
    pub caches: Caches,
    /// Background re-reads of the caches under the safety TTL, paced (`crate::refresher`).
    pub refresher: Arc<crate::refresher::Refresher>,
    pub key_pool: crate::key_pool::KeyPool,
    /// Per-realm turns for writing keys and reading them into the cache (see `App::signer`).
    pub key_locks: crate::realm_cache::Striped<tokio::sync::Mutex<()>>,
    /// This process's id among the nodes sharing the store, on the invalidations it publishes.
    pub node_id: String,
}

impl App {
    pub fn new(
        store: Store,
        master: MasterKey,
        hasher: PasswordHasher,
        clock: Arc<dyn Clock>,
        config: AppConfig,
    ) -> Self {
        let caches = Caches::new(config.cache_capacity, config.subject_ttl, config.safety_ttl);
        let refresher =
            crate::refresher::Refresher::new(config.safety_ttl, revisions_of(store.clone()));
        Self(Arc::new(Inner {
            store,
            refresh_key: realmgate_crypto::RefreshTokenKey::new(&master),
            master,
            hasher,
            clock,
            refresher: Arc::new(refresher),
            config,
            caches,
            key_pool: Default::default(),
            key_locks: crate::realm_cache::Striped::new(KEY_LOCKS, |_| tokio::sync::Mutex::new(())),
            node_id: uuid::Uuid::new_v4().simple().to_string(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }
    pub fn config(&self) -> &AppConfig {
        &self.0.config
    }
    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }
    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.0.hasher
    }
    pub(crate) fn key_pool(&self) -> &crate::key_pool::KeyPool {
        &self.0.key_pool
    }
    pub(crate) fn node_id(&self) -> &str {
        &self.0.node_id
    }
    pub(crate) fn refresh_key(&self) -> &realmgate_crypto::RefreshTokenKey {
        &self.0.refresh_key
    }
    pub(crate) fn caches(&self) -> &Caches {
        &self.0.caches
    }
    /// Reloads an entry of a cache under the safety TTL (realms, clients, keys, role claims) in
    /// the background, in its turn in the paced queue (`crate::refresher`). `start` builds the
    /// reload when its turn comes.
    pub(crate) fn refresh_ahead<F, Fut, E>(&self, refresh: Refresh, what: &'static str, start: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.0
            .refresher
            .submit(refresh.expires(), what, None, move |_| reread(what, start));
    }

    /// [`App::refresh_ahead`] for an entry of `realm` loaded when the realm's revision `of` its
    /// kind (configuration or keys) was `rev`: in its turn, if it still is (read with the other
    /// due entries' realms in one statement), `renew` renews the entry's TTL and nothing is
    /// re-read; otherwise `start` reloads it.
    pub(crate) fn revalidate_ahead<R, F, Fut, E>(
        &self,
        refresh: Refresh,
        what: &'static str,
        (realm, of, rev): (RealmId, fn(&RealmRevision) -> i64, i64),
        renew: R,
        start: F,
    ) where
        R: FnOnce(&App, std::time::Instant) -> bool + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let (app, expires) = (self.clone(), refresh.expires());
        self.0
            .refresher
            .submit(expires, what, Some(realm), move |current| {
                if current.as_ref().map(of) != Some(rev) {
                    return reread(what, start);
                }
                let renewed = renew(&app, expires);
                tracing::debug!(target: "realmgate::cache", what, renewed, "unchanged: TTL renewed");
                Box::pin(std::future::ready(Ok(())))
            });
    }

    /// This node's lock for writing `realm`'s keys and reading them into the cache.
    pub(crate) fn key_lock(&self, realm: &realmgate_domain::RealmId) -> &tokio::sync::Mutex<()> {
        self.0.key_locks.of(realm)
    }

    /// Sweeps expired cache entries every [`crate::cache::PURGE_EVERY`] until the app is
    /// dropped (the task holds no strong reference to it).
    pub fn spawn_cache_purge(&self) {
        let app = Arc::downgrade(&self.0);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::cache::PURGE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(inner) = app.upgrade() else { break };
                // A pass visits every entry: off the runtime's workers, so requests are not
                // queued behind it (each shard is locked only while it is swept).
                let swept = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    inner.caches.purge_expired();
                    started.elapsed()
                })
                .await;
                if let Ok(took) = swept {
                    tracing::debug!(
                        took_ms = took.as_secs_f64() * 1e3,
                        "expired cache entries swept"
                    );
                }
            }
        });
    }

    pub fn issuer_for(&self, realm_name: &str) -> String {
        format!("{}/realms/{}", self.0.config.public_url, realm_name)
    }

    /// Readiness: the store answers.
    pub async fn ready(&self) -> Result<(), AppError> {
        self.0.store.ping().await.map_err(AppError::from)
    }

    /// Seals a secret for storage, bound to its realm and purpose.
    pub(crate) fn seal(
        &self,
        realm: &RealmId,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        Ok(self
            .0
            .master
            .seal(aad(realm, purpose).as_bytes(), plaintext)?)
    }
    pub(crate) fn open(
        &self,
        realm: &RealmId,
        purpose: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        Ok(self.0.master.open(aad(realm, purpose).as_bytes(), sealed)?)
    }
}

/// The paced queue's reader of realms' revisions: one statement per shard.
fn revisions_of(store: Store) -> crate::refresher::Revisions {
    Arc::new(move |realms: Vec<RealmId>| {
        let store = store.clone();
        Box::pin(async move {
            store
                .config_revisions(&realms)
                .await
                .map_err(|e| e.to_string())
        })
    })
}

/// A background re-read from the store, boxed for the paced queue.
fn reread<F, Fut, E>(what: &'static str, start: F) -> crate::refresher::Reload
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    crate::ttl_cache::note_reread(what);
    Box::pin(async move { start().await.map_err(|e| e.to_string()) })
}

fn aad(realm: &RealmId, purpose: &str) -> String {
    format!("realmgate/{purpose}/{realm}")
}
