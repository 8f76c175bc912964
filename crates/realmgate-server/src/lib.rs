//! `realmgate-server` wires Realmgate together: configuration, telemetry, the store, the master
//! key, the app and its HTTP surface, and the command line (`serve`, `migrate`, `realm`,
//! `client`, `user`, `keys`, `shard`). The binary is `realmgate`; [`Server`] lets tests and embedding
//! applications start the same thing in-process.

pub mod cli;
mod cli_shard;
pub mod config;
pub mod telemetry;

use anyhow::Context;
use realmgate_app::{App, AppConfig};
use realmgate_crypto::{MasterKey, PasswordHasher, PasswordParams};
use realmgate_domain::{Clock, SystemClock};
use realmgate_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::Config;

/// Installs the process-wide rustls crypto provider (more than one is linked).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Opens the store, applies migrations and builds the app, without serving.
pub async fn build_app(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data dir {}", cfg.data_dir.display()))?;
    let master = match std::env::var("REALMGATE_MASTER_KEY") {
        Ok(b64) => MasterKey::from_base64(&b64)
            .map_err(|_| anyhow::anyhow!("REALMGATE_MASTER_KEY is not a base64 32-byte key"))?,
        Err(_) => {
            let path = cfg.master_key_path();
            let (key, created) = MasterKey::load_or_create(&path)
                .map_err(|e| anyhow::anyhow!("master key {}: {e}", path.display()))?;
            if created {
                tracing::info!(path = %path.display(), "generated a new master key");
            }
            key
        }
    };
    let store = open_store(cfg).await?;
    let p = &cfg.passwords;
    let params = PasswordParams {
        m_cost: p.memory_kib,
        t_cost: p.iterations,
        p_cost: p.parallelism,
    };
    let workers = p.max_concurrent.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let hasher = PasswordHasher::new(params, workers, p.max_queue);
    let mut app_cfg = AppConfig::new(&cfg.public_url());
    app_cfg.cache_capacity = cfg.cache_capacity;
    app_cfg.safety_ttl = std::time::Duration::from_secs(cfg.cache_safety_ttl_seconds);
    Ok(App::new(store, master, hasher, clock, app_cfg))
}

/// Opens the store — the directory shard at `database.url` plus every `[[database.shards]]`
/// entry — migrates every shard and registers the configured shards in the directory.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    cfg.validate()?;
    let max = cfg
        .database
        .max_connections
        .unwrap_or(if cfg.database.url.is_some() { 32 } else { 8 });
    let store = Store::open_sharded(
        &cfg.database_url(),
        cfg.database.weight.unwrap_or(1),
        &cfg.shard_specs(),
        max,
    )
    .await
    .context("opening the store")?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// A running server.
pub struct Server {
    pub app: App,
    pub addr: SocketAddr,
    pub public_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Builds the app, bootstraps `master`, binds `cfg.listen` (port 0 allowed) and serves.
    /// When `cfg.public_url` is unset it becomes `http://{bound address}`.
    pub async fn start(
        mut cfg: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<(Server, realmgate_app::bootstrap::Bootstrap)> {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .with_context(|| format!("binding {}", cfg.listen))?;
        let addr = listener.local_addr()?;
        if cfg.public_url.is_none() {
            cfg.public_url = Some(format!("http://{addr}"));
        }
        let app = build_app(&cfg, clock).await?;
        let boot = app
            .bootstrap(
                &cfg.bootstrap.admin_username,
                cfg.bootstrap.admin_password.clone(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("bootstrapping the master realm: {e}"))?;
        app.spawn_key_pool(8);
        app.spawn_cache_purge();
        // Other nodes' changes (Postgres NOTIFY) drop this node's stale cache entries.
        app.spawn_invalidation_listener()
            .await
            .map_err(|e| anyhow::anyhow!("subscribing to cache invalidations: {e}"))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let service = realmgate_http::service(app.clone());
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            SocketAddr,
        >(service);
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, make).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!(error = %e, "server stopped with an error");
            }
        });
        Ok((
            Server {
                app,
                addr,
                public_url: cfg.public_url(),
                shutdown: Some(tx),
                task,
            },
            boot,
        ))
    }

    /// Stops accepting, finishes in-flight requests, closes the store.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        self.app.store().close().await;
    }

    /// Waits until the server task ends (Ctrl-C handling is the caller's).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }

    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The system clock as the app's clock.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
