//! The cargo invocations: lint, build and the Rust test suite.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cli::Store;
use crate::process;
use crate::tempdir::TempDir;

/// The cargo that runs xtask (`$CARGO`), in the repository root.
fn cargo(root: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.current_dir(root);
    cmd
}

fn ensure_component(root: &Path, subcommand: &str, component: &str) -> Result<()> {
    let output = process::capture(cargo(root).args([subcommand, "--version"]))?;
    if !output.status.success() {
        bail!(
            "`cargo {subcommand}` is not available; install it with `rustup component add {component}`"
        );
    }
    Ok(())
}

pub fn fmt_check(root: &Path) -> Result<()> {
    ensure_component(root, "fmt", "rustfmt")?;
    process::run(cargo(root).args(["fmt", "--all", "--", "--check"]))
        .context("code is not formatted: run `cargo fmt --all`")
}

pub fn clippy(root: &Path) -> Result<()> {
    ensure_component(root, "clippy", "clippy")?;
    process::run(cargo(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

pub fn build(root: &Path) -> Result<()> {
    process::run(cargo(root).args(["build", "--workspace", "--all-targets"]))
}

#[derive(Debug, Clone, Copy)]
pub enum Runner {
    Nextest,
    CargoTest,
}

impl Runner {
    /// cargo-nextest when `cargo nextest --version` works, else `cargo test`.
    pub fn detect(root: &Path) -> Runner {
        let nextest = process::capture(cargo(root).args(["nextest", "--version"]))
            .is_ok_and(|output| output.status.success());
        if nextest {
            Runner::Nextest
        } else {
            Runner::CargoTest
        }
    }
}

/// Where the Rust tests find their store.
pub enum TestStore<'a> {
    Sqlite,
    Postgres { database_url: &'a str },
}

impl TestStore<'_> {
    fn store(&self) -> Store {
        match self {
            TestStore::Sqlite => Store::Sqlite,
            TestStore::Postgres { .. } => Store::Postgres,
        }
    }
}

/// Test modules (`shards::…`, in any test binary) that need Postgres.
const POSTGRES_ONLY_MODULE: &str = "shards::";
/// The nextest filter of the SQLite pass: everything but [`POSTGRES_ONLY_MODULE`].
const SQLITE_FILTER: &str = "not test(/^shards::/)";

/// Runs the whole workspace's tests against one store; `extra` is appended
/// verbatim to the runner's command line.
pub fn test(root: &Path, runner: Runner, store: &TestStore<'_>, extra: &[String]) -> Result<()> {
    let mut cmd = cargo(root);
    match runner {
        Runner::Nextest => cmd.args([
            "nextest",
            "run",
            "--workspace",
            "--all-targets",
            "--no-fail-fast",
        ]),
        Runner::CargoTest => cmd.args(["test", "--workspace", "--all-targets", "--no-fail-fast"]),
    };
    if matches!(store, TestStore::Sqlite) {
        // The sharding tests need three Postgres databases (they fail, never skip, without
        // them): they run in the Postgres pass only. They live in `shards` test modules.
        if let Runner::Nextest = runner {
            cmd.args(["-E", SQLITE_FILTER]);
        }
    }
    cmd.args(extra);
    if let (TestStore::Sqlite, Runner::CargoTest) = (store, runner) {
        if !extra.iter().any(|a| a == "--") {
            cmd.arg("--");
        }
        cmd.args(["--skip", POSTGRES_ONLY_MODULE]);
    }
    cmd.env("REALMGATE_TEST_STORE", store.store().name());
    match store {
        TestStore::Sqlite => cmd.env_remove("REALMGATE_TEST_DATABASE_URL"),
        TestStore::Postgres { database_url } => {
            cmd.env("REALMGATE_TEST_DATABASE_URL", database_url)
        }
    };
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        cmd.env("RUST_BACKTRACE", "1");
    }
    // The tests' scratch files (SQLite stores, peers' files) live in one directory per pass,
    // deleted when the pass ends whatever its outcome, so repeated runs never fill the disk.
    let scratch = TempDir::for_this_run(&format!("realmgate-test-{}-", store.store()))?;
    cmd.env("TMPDIR", scratch.path());
    println!(
        "xtask: REALMGATE_TEST_STORE={}{}",
        store.store(),
        match store {
            TestStore::Sqlite => String::new(),
            TestStore::Postgres { database_url } =>
                format!(" REALMGATE_TEST_DATABASE_URL={database_url}"),
        }
    );
    let outcome = process::run(&mut cmd);
    drop(scratch);
    outcome.with_context(|| format!("Rust tests failed against {}", store.store()))
}
