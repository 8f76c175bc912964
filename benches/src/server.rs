//! Starting the server under test (`--spawn`) and reading process figures from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// A `realmgate serve` child on a free loopback port with a throwaway data directory.
pub struct Spawned {
    child: Child,
    pub pid: u32,
    pub base_url: String,
    pub admin_password: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    /// From `spawn` until `GET /readyz` answered 200.
    pub startup: Duration,
    bin: PathBuf,
    database_url: Option<String>,
    listen: String,
}

impl Spawned {
    pub async fn start(
        bin: &Path,
        database_url: Option<&str>,
        log_path: PathBuf,
        stamp: &str,
    ) -> Result<Self> {
        if !bin.exists() {
            bail!(
                "{} not found: build it first with `cargo build --release -p realmgate-server` \
                 (or pass --server-bin)",
                bin.display()
            );
        }
        let port = free_port()?;
        let data_dir = std::env::temp_dir().join(format!(
            "realmgate-loadbench-{}-{stamp}",
            std::process::id()
        ));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let admin_password = format!("lb-{}", realmgate_crypto::random_token(18));
        let listen = format!("127.0.0.1:{port}");
        let (child, pid, startup) = launch(
            bin,
            database_url,
            &data_dir,
            &listen,
            &admin_password,
            &log_path,
        )
        .await?;
        Ok(Self {
            child,
            pid,
            base_url: format!("http://{listen}"),
            admin_password,
            data_dir,
            log_path,
            startup,
            bin: bin.to_owned(),
            database_url: database_url.map(str::to_owned),
            listen,
        })
    }

    /// Stops the server (SIGTERM) and starts it again on the same data (directory and
    /// database) and port; returns the new startup time (spawn → `/readyz` 200).
    pub async fn restart(&mut self) -> Result<Duration> {
        if terminate(&mut self.child, self.pid).await.is_none() {
            self.child.kill().await?;
        }
        let (child, pid, startup) = launch(
            &self.bin,
            self.database_url.as_deref(),
            &self.data_dir,
            &self.listen,
            &self.admin_password,
            &self.log_path,
        )
        .await?;
        self.child = child;
        self.pid = pid;
        self.startup = startup;
        Ok(startup)
    }

    /// SIGTERM, then SIGKILL after 10 s; removes the data directory. Returns how long the
    /// graceful stop took, or `None` when it had to be killed.
    pub async fn stop(mut self) -> Result<Option<Duration>> {
        let graceful = terminate(&mut self.child, self.pid).await;
        if graceful.is_none() {
            self.child.kill().await?;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.data_dir) {
            eprintln!("note: could not remove {}: {e}", self.data_dir.display());
        }
        Ok(graceful)
    }
}

/// SIGTERM and up to 10 s for the exit; `None` when it did not exit in time.
async fn terminate(child: &mut Child, pid: u32) -> Option<Duration> {
    let t0 = Instant::now();
    let term = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .await;
    match term {
        Ok(s) if s.success() => tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|_| t0.elapsed()),
        _ => None,
    }
}

/// Starts `realmgate serve` (log appended to `log_path`) and waits for `/readyz`.
async fn launch(
    bin: &Path,
    database_url: Option<&str>,
    data_dir: &Path,
    listen: &str,
    admin_password: &str,
    log_path: &Path,
) -> Result<(Child, u32, Duration)> {
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env("REALMGATE_DATA_DIR", data_dir)
        .env("REALMGATE_LISTEN", listen)
        .env("REALMGATE_BOOTSTRAP_ADMIN_PASSWORD", admin_password)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    match database_url {
        Some(url) => cmd.env("REALMGATE_DATABASE_URL", url),
        None => cmd.env_remove("REALMGATE_DATABASE_URL"),
    };
    let ready = format!("http://{listen}/readyz");
    let probe = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()?;

    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("the server exited at once")?;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server exited during startup ({status}); its log:\n{}",
                tail(log_path, 30)
            );
        }
        if let Ok(r) = probe.get(&ready).send().await
            && r.status().is_success()
        {
            break;
        }
        if t0.elapsed() > Duration::from_secs(600) {
            bail!(
                "the server was not ready after 600 s; its log:\n{}",
                tail(log_path, 30)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((child, pid, t0.elapsed()))
}

/// A port the kernel just handed out on 127.0.0.1 (released again for the server to bind).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// CPU time and thread count of a process, from `/proc/<pid>/stat`.
#[derive(Clone, Copy, Debug)]
pub struct ProcCpu {
    /// utime + stime, in clock ticks.
    pub ticks: u64,
    pub threads: u64,
}

/// `pid` `None` reads this process.
pub fn proc_cpu(pid: Option<u32>) -> Option<ProcCpu> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the `(comm)`, which may itself contain spaces: state is field 3.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let threads: u64 = f.get(17)?.parse().ok()?;
    Some(ProcCpu {
        ticks: utime + stime,
        threads,
    })
}

/// Resident set size in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn proc_rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Whole-machine CPU ticks (busy, total) from the first line of `/proc/stat`.
pub fn machine_cpu() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux in practice).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// What the report says about this machine.
#[derive(Debug, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub mem_total_mib: u64,
    pub kernel: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total_mib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |k| k / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        mem_total_mib,
        kernel,
    }
}

/// Summed CPU ticks of every process named `comm` (e.g. the `postgres` server and its backends),
/// so a database on the same machine counts as part of the system under test.
pub fn comm_cpu(comm: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
            continue;
        };
        if text.get(open + 1..close) == Some(comm)
            && let Some(c) = proc_cpu(Some(pid))
        {
            total += c.ticks;
        }
    }
    Some(total)
}
