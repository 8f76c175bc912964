//! The real `realmgate serve` binary as a child process, with its output in
//! a log file. Dropping the guard stops the server.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{interrupt, net, process};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct ServerConfig<'a> {
    pub binary: &'a Path,
    pub cwd: &'a Path,
    pub data_dir: &'a Path,
    pub log_file: PathBuf,
    pub port: u16,
    pub admin_password: &'a str,
    /// `Some` for the Postgres store, `None` for SQLite (in the data dir).
    pub database_url: Option<&'a str>,
}

pub struct Server {
    child: Child,
    log_file: PathBuf,
    port: u16,
}

impl Server {
    /// Starts the server and waits until `GET /readyz` answers 200. On
    /// failure the server log is part of the error.
    pub fn start(config: &ServerConfig<'_>) -> Result<Self> {
        if !config.binary.is_file() {
            bail!(
                "server binary {} does not exist (did the build produce it?)",
                config.binary.display()
            );
        }
        if let Some(dir) = config.log_file.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let log = File::create(&config.log_file)
            .with_context(|| format!("creating {}", config.log_file.display()))?;
        let log_err = log
            .try_clone()
            .with_context(|| format!("duplicating {}", config.log_file.display()))?;
        let url = format!("http://127.0.0.1:{}", config.port);
        let mut cmd = Command::new(config.binary);
        cmd.arg("serve")
            .current_dir(config.cwd)
            .env("REALMGATE_DATA_DIR", config.data_dir)
            .env("REALMGATE_LISTEN", format!("127.0.0.1:{}", config.port))
            .env("REALMGATE_PUBLIC_URL", &url)
            .env("REALMGATE_BOOTSTRAP_ADMIN_PASSWORD", config.admin_password)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        match config.database_url {
            Some(database_url) => cmd.env("REALMGATE_DATABASE_URL", database_url),
            None => cmd.env_remove("REALMGATE_DATABASE_URL"),
        };
        let shown = process::display(&cmd);
        println!(
            "xtask$ {shown}  (REALMGATE_LISTEN=127.0.0.1:{}, log: {})",
            config.port,
            config.log_file.display()
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let mut server = Self {
            child,
            log_file: config.log_file.clone(),
            port: config.port,
        };
        if let Err(err) = server.wait_ready() {
            bail!("{err:#}\n{}", server.log());
        }
        println!("xtask: server ready at {url}");
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server log, framed for printing.
    pub fn log(&self) -> String {
        let contents = fs::read_to_string(&self.log_file)
            .unwrap_or_else(|err| format!("(could not read log: {err})\n"));
        format!(
            "--- server log {} ---\n{contents}--- end of server log ---",
            self.log_file.display()
        )
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("polling the server")? {
                bail!("the server exited before becoming ready ({status})");
            }
            if interrupt::requested() {
                bail!("interrupted while waiting for the server");
            }
            let last = match net::http_get_status(self.port, "/readyz") {
                Ok(200) => return Ok(()),
                Ok(code) => format!("HTTP {code}"),
                Err(err) => format!("{err:#}"),
            };
            if Instant::now() >= deadline {
                bail!(
                    "GET {}/readyz did not return 200 within {}s (last: {last})",
                    self.url(),
                    READY_TIMEOUT.as_secs()
                );
            }
            sleep(Duration::from_millis(250));
        }
    }

    /// SIGTERM, then SIGKILL if it hasn't exited after `STOP_TIMEOUT`.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id().to_string();
        let terminated = process::capture(Command::new("kill").args(["-TERM", &pid]))
            .is_ok_and(|output| output.status.success());
        if terminated {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                sleep(Duration::from_millis(50));
            }
            eprintln!("xtask: warning: server did not stop after SIGTERM; killing it");
        }
        if let Err(err) = self.child.kill() {
            eprintln!("xtask: warning: could not kill the server: {err}");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
