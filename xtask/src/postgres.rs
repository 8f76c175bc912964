//! A throwaway Postgres cluster built from the system binaries: `initdb` into
//! a fresh directory, `pg_ctl start` on a free loopback port, and on drop
//! `pg_ctl stop` plus deletion of the directory (also on every failure path).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{net, process, secret, system};

/// Binaries that must sit together in one directory.
const REQUIRED_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian's `postgresql-NN` packages put the server binaries.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// libpq variables that could redirect our tools to another server.
const LIBPQ_ENV: [&str; 8] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGSERVICE",
    "PGOPTIONS",
    "PGDATA",
];

/// Unix socket paths are limited to ~107 bytes; `.s.PGSQL.NNNNN` needs 15.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug)]
pub struct PgBins {
    dir: PathBuf,
}

impl PgBins {
    /// `initdb` on PATH (symlinks followed to the real bin dir), else the
    /// highest version under /usr/lib/postgresql/*/bin.
    pub fn find() -> Result<Self> {
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let initdb = dir.join("initdb");
                if !initdb.is_file() {
                    continue;
                }
                let real = fs::canonicalize(&initdb)
                    .with_context(|| format!("resolving {}", initdb.display()))?;
                if let Some(bin_dir) = real.parent().filter(|dir| has_all_binaries(dir)) {
                    return Ok(Self {
                        dir: bin_dir.to_path_buf(),
                    });
                }
            }
        }
        let mut versions = Vec::new();
        if let Ok(entries) = fs::read_dir(DEBIAN_PG_ROOT) {
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {DEBIAN_PG_ROOT}"))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let version = name
                    .split('.')
                    .map(str::parse::<u32>)
                    .collect::<Result<Vec<_>, _>>();
                if let Ok(version) = version {
                    versions.push((version, entry.path().join("bin")));
                }
            }
        }
        versions.sort();
        if let Some((_, dir)) = versions
            .into_iter()
            .rev()
            .find(|(_, dir)| has_all_binaries(dir))
        {
            return Ok(Self { dir });
        }
        bail!(
            "no Postgres server binaries ({}) on PATH or under {DEBIAN_PG_ROOT}/*/bin; \
             install the `{}` package",
            REQUIRED_BINARIES.join(", "),
            system::POSTGRES_PACKAGE
        )
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `psql` from the same installation if present, else from PATH.
    fn psql(&self) -> PathBuf {
        let psql = self.bin("psql");
        if psql.is_file() {
            psql
        } else {
            PathBuf::from("psql")
        }
    }
}

fn has_all_binaries(dir: &Path) -> bool {
    REQUIRED_BINARIES
        .iter()
        .all(|name| dir.join(name).is_file())
}

/// A running throwaway cluster. Dropping it stops the server and deletes
/// its directory.
#[derive(Debug)]
pub struct Postgres {
    bins: PgBins,
    /// Holds `data/`, `postgres.log` and the Unix socket.
    root: PathBuf,
    /// Running as root: server tools run as the `postgres` user via runuser.
    as_postgres_user: bool,
    port: u16,
}

impl Postgres {
    /// Creates and starts a fresh cluster with scratch space in `xtask_dir`.
    pub fn start(xtask_dir: &Path) -> Result<Self> {
        let bins = PgBins::find()?;
        println!("xtask: Postgres binaries: {}", bins.dir.display());
        let as_postgres_user = system::is_root()?;
        reap_stale(xtask_dir, &bins, as_postgres_user);
        let root = choose_root(xtask_dir, as_postgres_user)?;
        // From here on the guard exists, so every failure cleans up.
        let mut postgres = Self {
            bins,
            root,
            as_postgres_user,
            port: 0,
        };
        postgres.init()?;
        postgres.launch()?;
        let version = postgres.psql("postgres", "SELECT version()")?;
        println!(
            "xtask: Postgres is up at {} ({})",
            postgres.url(),
            version.trim()
        );
        Ok(postgres)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `postgres` database as superuser `postgres` (trust auth).
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// Creates an empty database and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            bail!("refusing to create database with unusual name {name:?}");
        }
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating database {name}"))?;
        Ok(self.database_url(name))
    }

    /// Whether the server is still running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        let mut cmd = self.server_tool("pg_ctl");
        cmd.arg("-D").arg(self.data_dir()).arg("status");
        process::capture(&mut cmd).is_ok_and(|output| output.status.success())
    }

    fn init(&self) -> Result<()> {
        let mut cmd = self.server_tool("initdb");
        cmd.arg("-D").arg(self.data_dir()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        process::run_captured(&mut cmd).context("initdb failed")?;
        Ok(())
    }

    fn launch(&mut self) -> Result<()> {
        let socket_dir = self.root.to_string_lossy().into_owned();
        if socket_dir.contains('\'') {
            bail!("Postgres directory {socket_dir:?} contains a quote");
        }
        self.port = net::free_port()?;
        let options = format!(
            "-p {} -k '{socket_dir}' -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            self.port
        );
        let mut cmd = self.server_tool("pg_ctl");
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", "60", "-o", &options, "start"]);
        if let Err(err) = process::run_captured(&mut cmd) {
            let log = fs::read_to_string(self.log_file())
                .unwrap_or_else(|read_err| format!("(could not read log: {read_err})"));
            bail!(
                "Postgres failed to start: {err:#}\n--- {} ---\n{log}",
                self.log_file().display()
            );
        }
        Ok(())
    }

    /// Runs one SQL statement over TCP as `postgres`; returns its output.
    fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let mut cmd = Command::new(self.bins.psql());
        clear_libpq_env(&mut cmd);
        cmd.args(["-X", "-w", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", database, "-c", sql]);
        process::run_captured(&mut cmd)
    }

    /// A server tool (`initdb`, `pg_ctl`), as the `postgres` user when root.
    fn server_tool(&self, name: &str) -> Command {
        server_tool(&self.bins, name, &self.root, self.as_postgres_user)
    }

    fn stop(&self) {
        if !self.data_dir().join("postmaster.pid").exists() {
            return;
        }
        println!("xtask: stopping Postgres on port {}", self.port);
        stop_cluster(&self.bins, &self.root, self.as_postgres_user);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        if let Err(err) = fs::remove_dir_all(&self.root) {
            eprintln!(
                "xtask: warning: could not remove {}: {err}",
                self.root.display()
            );
        }
    }
}

fn server_tool(bins: &PgBins, name: &str, cwd: &Path, as_postgres_user: bool) -> Command {
    let program = bins.bin(name);
    let mut cmd = if as_postgres_user {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    };
    cmd.current_dir(cwd);
    clear_libpq_env(&mut cmd);
    cmd
}

fn clear_libpq_env(cmd: &mut Command) {
    for var in LIBPQ_ENV {
        cmd.env_remove(var);
    }
}

/// `pg_ctl stop -m fast`, falling back to `-m immediate`; warnings only.
fn stop_cluster(bins: &PgBins, root: &Path, as_postgres_user: bool) {
    for mode in ["fast", "immediate"] {
        let mut cmd = server_tool(bins, "pg_ctl", root, as_postgres_user);
        cmd.arg("-D")
            .arg(root.join("data"))
            .args(["-m", mode, "-w", "-t", "30", "stop"]);
        match process::capture(&mut cmd) {
            Ok(output) if output.status.success() => return,
            Ok(output) => eprintln!(
                "xtask: warning: `{}` failed ({}): {}",
                process::display(&cmd),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(err) => eprintln!("xtask: warning: {err:#}"),
        }
    }
}

/// Picks and prepares the cluster's directory: `<xtask_dir>/pg-<pid>`, or a
/// fresh one under the temp dir when that path is too long for a Unix
/// socket or not usable by the `postgres` user.
fn choose_root(xtask_dir: &Path, as_postgres_user: bool) -> Result<PathBuf> {
    let pid = std::process::id();
    let preferred = xtask_dir.join(format!("pg-{pid}"));
    if preferred.as_os_str().len() > MAX_SOCKET_DIR_LEN {
        println!(
            "xtask: {} is too long for a Unix socket path; using the temp dir",
            preferred.display()
        );
    } else {
        match prepare_root(&preferred, as_postgres_user) {
            Ok(()) => return Ok(preferred),
            Err(err) => println!(
                "xtask: {} is unusable ({err:#}); using the temp dir",
                preferred.display()
            ),
        }
    }
    let fallback =
        std::env::temp_dir().join(format!("realmgate-pg-{pid}-{}", secret::random_string(8)?));
    prepare_root(&fallback, as_postgres_user)
        .with_context(|| format!("preparing Postgres directory {}", fallback.display()))?;
    Ok(fallback)
}

fn prepare_root(dir: &Path, as_postgres_user: bool) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing stale {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !as_postgres_user {
        return Ok(());
    }
    let handed_over = hand_to_postgres_user(dir);
    if handed_over.is_err() {
        let _ = fs::remove_dir_all(dir);
    }
    handed_over
}

/// chowns `dir` to `postgres` and checks that user can reach and write it.
fn hand_to_postgres_user(dir: &Path) -> Result<()> {
    process::run_captured(Command::new("chown").arg("postgres:").arg(dir))?;
    let mut check = Command::new("runuser");
    check
        .args(["-u", "postgres", "--", "test", "-w"])
        .arg(dir)
        .args(["-a", "-x"])
        .arg(dir)
        .current_dir("/");
    let output = process::capture(&mut check)?;
    if !output.status.success() {
        bail!("the postgres user cannot write to {}", dir.display());
    }
    Ok(())
}

/// Stops and deletes clusters left behind by xtask runs that were killed
/// (their pid no longer exists). Best effort: problems are only warnings.
fn reap_stale(xtask_dir: &Path, bins: &PgBins, as_postgres_user: bool) {
    let candidates = [
        (xtask_dir.to_path_buf(), "pg-"),
        (std::env::temp_dir(), "realmgate-pg-"),
    ];
    for (dir, prefix) in candidates {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if process::xtask_alive(pid) {
                continue;
            }
            let path = entry.path();
            println!(
                "xtask: removing stale Postgres directory {}",
                path.display()
            );
            if path.join("data").join("postmaster.pid").exists() {
                stop_cluster(bins, &path, as_postgres_user);
            }
            if let Err(err) = fs::remove_dir_all(&path) {
                eprintln!("xtask: warning: could not remove {}: {err}", path.display());
            }
        }
    }
}
