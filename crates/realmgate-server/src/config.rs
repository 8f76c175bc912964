//! Configuration: one TOML file (unknown keys rejected), then `REALMGATE_*` environment
//! variables, then command-line flags. Secrets may come from `*_FILE` variables.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// The externally visible base URL; token issuers are `{public_url}/realms/{realm}`.
    pub public_url: Option<String>,
    /// Where the embedded store, the master key and dev artefacts live.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub bootstrap: BootstrapConfig,
    pub passwords: PasswordConfig,
    /// Base64 master key file (default `{data_dir}/master.key`, created on first start).
    pub master_key_file: Option<PathBuf>,
    pub log: LogConfig,
    /// Entries per in-memory cache (realms, clients, keys, role claims).
    pub cache_capacity: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A `postgres://` URL. Unset: the embedded SQLite store in the data directory.
    pub url: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    pub admin_username: String,
    /// Unset: a password is generated and printed once at the first start.
    pub admin_password: Option<String>,
}

impl std::fmt::Debug for BootstrapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapConfig")
            .field("admin_username", &self.admin_username)
            .finish_non_exhaustive()
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            admin_username: "admin".into(),
            admin_password: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Concurrent argon2id hashes (default: the number of cores).
    pub max_concurrent: Option<usize>,
    /// Logins allowed to wait for a hashing slot before the server answers 503.
    pub max_queue: usize,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let p = realmgate_crypto::PasswordParams::OWASP;
        Self {
            max_concurrent: None,
            max_queue: 256,
            memory_kib: p.m_cost,
            iterations: p.t_cost,
            parallelism: p.p_cost,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: String,
    /// A tracing filter, e.g. `info,realmgate=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "pretty".into(),
            filter: "info".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database: DatabaseConfig::default(),
            bootstrap: BootstrapConfig::default(),
            passwords: PasswordConfig::default(),
            master_key_file: None,
            log: LogConfig::default(),
            cache_capacity: 100_000,
        }
    }
}

/// Reads an environment variable, or the file named by `{name}_FILE`.
fn env_or_file(name: &str) -> anyhow::Result<Option<String>> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(v));
    }
    if let Ok(path) = std::env::var(format!("{name}_FILE")) {
        let v = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {name}_FILE ({path})"))?;
        return Ok(Some(v.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok(None)
}

impl Config {
    /// File (if given or `REALMGATE_CONFIG`), then environment overrides.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("REALMGATE_CONFIG").map(PathBuf::from));
        let mut cfg = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = env_or_file("REALMGATE_LISTEN")? {
            cfg.listen = v;
        }
        if let Some(v) = env_or_file("REALMGATE_PUBLIC_URL")? {
            cfg.public_url = Some(v);
        }
        if let Some(v) = env_or_file("REALMGATE_DATA_DIR")? {
            cfg.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env_or_file("REALMGATE_DATABASE_URL")? {
            cfg.database.url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = env_or_file("REALMGATE_BOOTSTRAP_ADMIN_PASSWORD")? {
            cfg.bootstrap.admin_password = Some(v);
        }
        if let Some(v) = env_or_file("REALMGATE_BOOTSTRAP_ADMIN_USERNAME")? {
            cfg.bootstrap.admin_username = v;
        }
        if let Some(v) = env_or_file("REALMGATE_MASTER_KEY_FILE")? {
            cfg.master_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env_or_file("REALMGATE_LOG_FORMAT")? {
            cfg.log.format = v;
        }
        if let Some(v) = env_or_file("REALMGATE_LOG")? {
            cfg.log.filter = v;
        }
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(u) = &self.public_url {
            let parsed = url::Url::parse(u)
                .map_err(|_| anyhow::anyhow!("public_url '{u}' is not an absolute URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("public_url must be http or https");
            }
        }
        if let Some(db) = &self.database.url
            && !(db.starts_with("postgres://")
                || db.starts_with("postgresql://")
                || db.starts_with("sqlite:"))
        {
            bail!("database.url must be a postgres:// (or sqlite:) URL");
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            bail!("log.format must be 'pretty' or 'json'");
        }
        Ok(())
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("realmgate.db").display()),
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Config>("listen = \"0.0.0.0:1\"\nlisten_port = 3").err();
        assert!(
            err.map(|e| e.to_string().contains("listen_port"))
                .unwrap_or(false)
        );
        let err = toml::from_str::<Config>("[database]\nuri = \"x\"").err();
        assert!(err.map(|e| e.to_string().contains("uri")).unwrap_or(false));
    }

    #[test]
    fn defaults_use_the_embedded_store() {
        let c = Config::default();
        assert!(c.database_url().starts_with("sqlite://"));
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
    }
}

#[cfg(test)]
mod example_tests {
    #[test]
    fn the_documented_example_config_loads() {
        let cfg: Result<super::Config, _> =
            toml::from_str(include_str!("../../../deploy/realmgate.example.toml"));
        assert!(cfg.is_ok(), "{:?}", cfg.err());
        assert!(cfg.map(|c| c.validate().is_ok()).unwrap_or(false));
    }
}
