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
    /// How long a cached realm, client, key set, role-claims or verified-token entry may be
    /// served without a change notification (busy ones are re-read ahead of it, in the
    /// background). Default 1,800; 1 to 86,400.
    pub cache_safety_ttl_seconds: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A `postgres://` URL. Unset: the embedded SQLite store in the data directory. With shards,
    /// this is the `default` shard and hosts the directory.
    pub url: Option<String>,
    /// Connections per pool (one pool per shard).
    pub max_connections: Option<u32>,
    /// Placement weight of the `default` shard (default 1).
    pub weight: Option<u32>,
    /// More Postgres databases to place realms on (`[[database.shards]]`).
    pub shards: Vec<ShardConfig>,
}

/// One `[[database.shards]]` entry.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardConfig {
    /// Unique; 1-63 characters of a-z, 0-9, '-', '_'; `default` is `database.url`'s.
    pub name: String,
    /// A `postgres://` URL (may carry a password: never logged).
    pub url: String,
    /// Placement weight (≥ 1): new realms go where `realms / weight` is lowest.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

impl std::fmt::Debug for ShardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardConfig")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("weight", &self.weight)
            .finish()
    }
}

/// The URL with its password (if any) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
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
            cache_capacity: 250_000,
            cache_safety_ttl_seconds: 1800,
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
        if let Some(v) = env_or_file("REALMGATE_CACHE_SAFETY_TTL_SECONDS")? {
            cfg.cache_safety_ttl_seconds = v.trim().parse().map_err(|_| {
                anyhow::anyhow!("REALMGATE_CACHE_SAFETY_TTL_SECONDS must be a number of seconds")
            })?;
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
        self.validate_shards()?;
        if !(1..=86_400).contains(&self.cache_safety_ttl_seconds) {
            bail!("cache_safety_ttl_seconds must be between 1 and 86400");
        }
        if !matches!(self.log.format.as_str(), "pretty" | "json") {
            bail!("log.format must be 'pretty' or 'json'");
        }
        Ok(())
    }

    fn validate_shards(&self) -> anyhow::Result<()> {
        let db = &self.database;
        if db.weight == Some(0) {
            bail!("database.weight must be at least 1");
        }
        if db.shards.is_empty() {
            return Ok(());
        }
        let postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
        if !db.url.as_deref().is_some_and(postgres) {
            bail!(
                "database.shards needs database.url to be a postgres:// URL: \
                 sharding is not available with the embedded SQLite store"
            );
        }
        let mut names = std::collections::BTreeSet::new();
        for shard in &db.shards {
            let name = &shard.name;
            if name == realmgate_store::DEFAULT_SHARD {
                bail!("database.shards: the name 'default' is reserved for database.url");
            }
            if !realmgate_store::valid_shard_name(name) {
                bail!(
                    "database.shards: name '{name}' must be 1-63 characters of a-z, 0-9, '-', '_'"
                );
            }
            if !names.insert(name.as_str()) {
                bail!("database.shards: the name '{name}' is used twice");
            }
            if shard.weight == 0 {
                bail!("database.shards: shard '{name}' needs a weight of at least 1");
            }
            if !postgres(&shard.url) {
                bail!("database.shards: shard '{name}' needs a postgres:// URL");
            }
        }
        Ok(())
    }

    /// The configured shards other than `default`, as the store takes them.
    pub fn shard_specs(&self) -> Vec<realmgate_store::ShardSpec> {
        self.database
            .shards
            .iter()
            .map(|s| realmgate_store::ShardSpec {
                name: s.name.clone(),
                url: s.url.clone(),
                weight: s.weight,
            })
            .collect()
    }

    /// The (redacted) URL of a configured shard, `default` included.
    pub fn shard_url_redacted(&self, name: &str) -> Option<String> {
        if name == realmgate_store::DEFAULT_SHARD {
            return Some(redact_url(&self.database_url()));
        }
        let shard = self.database.shards.iter().find(|s| s.name == name)?;
        Some(redact_url(&shard.url))
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

    fn with_shards(toml_text: &str) -> anyhow::Result<Config> {
        let cfg: Config = toml::from_str(toml_text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn database_shards_are_validated() {
        let base = "[database]\nurl = \"postgres://rg:pw@db/rg\"\n";
        let ok = with_shards(&format!(
            "{base}[[database.shards]]\nname = \"s2\"\nurl = \"postgres://rg:secret@db2/rg\"\nweight = 2\n\
             [[database.shards]]\nname = \"s3\"\nurl = \"postgres://db3/rg\"\n"
        ));
        let cfg = ok.unwrap_or_default();
        assert_eq!(cfg.database.shards.len(), 2);
        assert_eq!(cfg.database.shards[1].weight, 1);
        assert!(!format!("{cfg:?}").contains("secret"));
        let err = |text: String| with_shards(&text).err().map(|e| e.to_string());
        let bad = [
            (
                format!(
                    "{base}[[database.shards]]\nname = \"default\"\nurl = \"postgres://x/y\"\n"
                ),
                "reserved",
            ),
            (
                format!(
                    "{base}[[database.shards]]\nname = \"a\"\nurl = \"postgres://x/y\"\n[[database.shards]]\nname = \"a\"\nurl = \"postgres://x/z\"\n"
                ),
                "twice",
            ),
            (
                format!(
                    "{base}[[database.shards]]\nname = \"a\"\nurl = \"postgres://x/y\"\nweight = 0\n"
                ),
                "weight",
            ),
            (
                format!(
                    "{base}[[database.shards]]\nname = \"Bad Name\"\nurl = \"postgres://x/y\"\n"
                ),
                "1-63",
            ),
            (
                format!("{base}[[database.shards]]\nname = \"a\"\nurl = \"sqlite://x.db\"\n"),
                "postgres://",
            ),
            (
                "[[database.shards]]\nname = \"a\"\nurl = \"postgres://x/y\"\n".to_owned(),
                "SQLite",
            ),
            (
                format!(
                    "{base}[[database.shards]]\nname = \"a\"\nurl = \"postgres://x/y\"\nport = 1\n"
                ),
                "unknown field",
            ),
        ];
        for (text, want) in bad {
            let got = err(text.clone()).unwrap_or_default();
            assert!(got.contains(want), "{text}: {got}");
        }
    }

    #[test]
    fn cache_safety_ttl_is_bounded() {
        let ttl = |text: &str| {
            toml::from_str::<Config>(text)
                .map_err(anyhow::Error::from)
                .and_then(|c| c.validate().map(|()| c.cache_safety_ttl_seconds))
                .map_err(|e| e.to_string())
        };
        assert_eq!(ttl(""), Ok(1800));
        assert_eq!(ttl("cache_safety_ttl_seconds = 300"), Ok(300));
        for bad in [
            "cache_safety_ttl_seconds = 0",
            "cache_safety_ttl_seconds = 86401",
        ] {
            assert!(
                ttl(bad).is_err_and(|e| e.contains("cache_safety_ttl_seconds")),
                "{bad}"
            );
        }
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
