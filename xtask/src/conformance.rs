//! The conformance stage: the real server binary per store, exercised by
//! `conformance/run.sh`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::Store;
use crate::postgres::Postgres;
use crate::server::{Server, ServerConfig};
use crate::tempdir::TempDir;
use crate::{net, paths, process, secret};

const SCRIPT: &str = "conformance/run.sh";
const ADMIN_USER: &str = "admin";
const POSTGRES_DATABASE: &str = "rg_conf_pg";

/// Runs the conformance suite against a fresh server on `store`
/// (`postgres` must be `Some` for the Postgres store).
pub fn run(root: &Path, store: Store, postgres: Option<&Postgres>) -> Result<()> {
    let script = root.join(SCRIPT);
    if !script.is_file() {
        bail!(
            "{} does not exist: the conformance suite is missing \
             (this is a failure, not a skip)",
            script.display()
        );
    }
    let xtask_dir = paths::xtask_dir(root);
    let data_dir =
        TempDir::create(xtask_dir.join(format!("conformance-{store}-{}", std::process::id())))?;
    let database_url = match (store, postgres) {
        (Store::Sqlite, _) => None,
        (Store::Postgres, Some(postgres)) => Some(postgres.create_database(POSTGRES_DATABASE)?),
        (Store::Postgres, None) => bail!("the Postgres store needs a running Postgres"),
    };
    let admin_password = secret::random_string(24)?;
    let binary = paths::server_binary(root);
    let server = Server::start(&ServerConfig {
        binary: &binary,
        cwd: root,
        data_dir: data_dir.path(),
        log_file: xtask_dir.join("logs").join(format!("server-{store}.log")),
        port: net::free_port()?,
        admin_password: &admin_password,
        database_url: database_url.as_deref(),
    })
    .with_context(|| format!("starting the server on {store}"))?;

    let mut cmd = Command::new("bash");
    cmd.arg(SCRIPT)
        .current_dir(root)
        .env("REALMGATE_URL", server.url())
        .env("REALMGATE_ADMIN_USER", ADMIN_USER)
        .env("REALMGATE_ADMIN_PASSWORD", &admin_password)
        .env("REALMGATE_STORE", store.name());
    println!(
        "xtask: REALMGATE_URL={} REALMGATE_ADMIN_USER={ADMIN_USER} REALMGATE_STORE={store}",
        server.url()
    );
    let result = process::run(&mut cmd);
    if result.is_err() {
        eprintln!("{}", server.log());
    }
    drop(server);
    result.with_context(|| format!("conformance suite failed on {store}"))
}
