//! Logging to stderr (stdout carries only the start-up banner and command output): human-readable
//! or JSON lines, filtered by `REALMGATE_LOG` / `log.filter`.

use crate::config::LogConfig;
use tracing_subscriber::EnvFilter;

pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_new(&cfg.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}
