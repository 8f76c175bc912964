//! The shard commands: `realmgate shard list|add|drain` and `realmgate realm move`. They work on
//! the store alone (no app, no master key); URLs are printed with their password redacted.

use crate::{Config, open_store};
use anyhow::{Context, bail};
use clap::Subcommand;
use realmgate_domain::{Clock, SystemClock};
use realmgate_store::{MoveOptions, MoveOutcome, ShardAdded, Store};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ShardCmd {
    /// Every shard: name, weight, draining, realm count, URL (password redacted).
    List,
    /// Migrate a shard listed in `[[database.shards]]` and register it in the directory.
    Add { name: String },
    /// Stop placing realms on a shard and move every realm off it (re-runnable).
    Drain {
        name: String,
        /// The longest each realm's requests may be held back, e.g. `5s` or `500ms`.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        max_pause: Duration,
    },
}

/// `5s`, `500ms`, `2m` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as 5s or 500ms"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("'{s}' is not a duration such as 5s or 500ms")),
    }
}

/// A clear error unless `shard` is configured.
pub(crate) fn check_configured(store: &Store, shard: &str) -> anyhow::Result<()> {
    let names = store.shard_names();
    if !names.iter().any(|n| n == shard) {
        bail!(
            "shard '{shard}' is not configured (configured: {}); add it under [[database.shards]]",
            names.join(", ")
        );
    }
    Ok(())
}

pub(crate) async fn shard_cmd(cfg: &Config, cmd: ShardCmd) -> anyhow::Result<()> {
    let store = match &cmd {
        // `add` migrates and registers that one shard itself.
        ShardCmd::Add { .. } => open_unmigrated(cfg).await?,
        _ => open_store(cfg).await?,
    };
    let result = run_shard_cmd(cfg, &store, cmd).await;
    store.close().await;
    result
}

async fn open_unmigrated(cfg: &Config) -> anyhow::Result<Store> {
    cfg.validate()?;
    Store::open_sharded(
        &cfg.database_url(),
        cfg.database.weight.unwrap_or(1),
        &cfg.shard_specs(),
        2,
    )
    .await
    .context("opening the store")
}

async fn run_shard_cmd(cfg: &Config, store: &Store, cmd: ShardCmd) -> anyhow::Result<()> {
    match cmd {
        ShardCmd::List => {
            println!("NAME\tWEIGHT\tDRAINING\tREALMS\tURL");
            for s in store.shard_infos().await? {
                let url = cfg
                    .shard_url_redacted(&s.name)
                    .unwrap_or_else(|| "(not configured here)".to_owned());
                let mut notes = String::new();
                if s.moving_in > 0 {
                    notes.push_str(&format!(" ({} moving in)", s.moving_in));
                }
                if !s.registered {
                    notes.push_str(" (not registered: run `realmgate shard add`)");
                }
                println!(
                    "{}\t{}\t{}\t{}{notes}\t{url}",
                    s.name,
                    s.weight,
                    if s.draining { "yes" } else { "no" },
                    s.realms
                );
            }
        }
        ShardCmd::Add { name } => {
            check_configured(store, &name)?;
            let url = cfg.shard_url_redacted(&name).unwrap_or_default();
            match store.add_shard(&name).await? {
                ShardAdded::Registered { weight } => println!(
                    "shard {name} ({url}): migrated; registered in the directory with weight \
                     {weight}; new realms may be placed on it"
                ),
                ShardAdded::Updated { weight } => println!(
                    "shard {name} ({url}): migrated; already registered, weight is now {weight}"
                ),
            }
        }
        ShardCmd::Drain { name, max_pause } => {
            check_configured(store, &name)?;
            let opts = MoveOptions {
                max_pause,
                ..MoveOptions::default()
            };
            println!("shard {name} is draining: new realms go elsewhere");
            let moved = store
                .drain_shard(&name, SystemClock.now(), &opts, |realm, outcome| {
                    print_outcome(realm, outcome)
                })
                .await
                .with_context(|| format!("draining shard {name} (safe to re-run)"))?;
            println!("shard {name} drained: {moved} realm(s) moved");
        }
    }
    Ok(())
}

pub(crate) async fn realm_move(
    cfg: &Config,
    name: &str,
    to: &str,
    max_pause: Duration,
) -> anyhow::Result<()> {
    let store = open_store(cfg).await?;
    let result = async {
        check_configured(&store, to)?;
        let realm = store
            .system()
            .await?
            .realm_by_name(name)
            .await?
            .with_context(|| format!("realm not found: {name}"))?;
        let opts = MoveOptions {
            max_pause,
            ..MoveOptions::default()
        };
        let outcome = store
            .move_realm(&realm.id, to, SystemClock.now(), &opts)
            .await
            .with_context(|| format!("moving realm {name} to shard {to} (safe to re-run)"))?;
        print_outcome(name, &outcome);
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn print_outcome(realm: &str, outcome: &MoveOutcome) {
    match outcome {
        MoveOutcome::Moved(r) => {
            let rows: i64 = r.rows.iter().map(|(_, n)| n).sum();
            println!(
                "moved realm {realm} from shard {} to shard {}: {rows} rows, paused {} ms{}",
                r.from,
                r.to,
                r.pause.as_millis(),
                if r.resumed {
                    " (resumed an interrupted move)"
                } else {
                    ""
                }
            );
        }
        MoveOutcome::AlreadyThere { shard, cleaned } if cleaned.is_empty() => {
            println!("realm {realm} is already on shard {shard}");
        }
        MoveOutcome::AlreadyThere { shard, cleaned } => println!(
            "realm {realm} is already on shard {shard}; deleted leftovers of an interrupted \
             move on {}",
            cleaned.join(", ")
        ),
    }
}
