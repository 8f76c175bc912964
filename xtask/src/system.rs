//! System (Debian/apt) packages the build and the tests need.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process;

/// The Postgres server package (initdb, pg_ctl, postgres, psql).
pub const POSTGRES_PACKAGE: &str = "postgresql";

/// Everything `cargo xtask test` needs from apt. Extend here
/// (e.g. `libxml2-dev`, `libxmlsec1-dev`, `chromium`).
pub const SYSTEM_PACKAGES: &[&str] = &[
    "pkg-config",
    "libssl-dev",
    "libclang-dev",
    "clang",
    POSTGRES_PACKAGE,
];

/// Installs whichever of `packages` are missing; fails loudly if it can't.
pub fn ensure_packages(packages: &[&str]) -> Result<()> {
    let mut missing = Vec::new();
    for package in packages {
        if !is_installed(package)? {
            missing.push(*package);
        }
    }
    if missing.is_empty() {
        println!("xtask: system packages present: {}", packages.join(" "));
        return Ok(());
    }
    println!(
        "xtask: installing missing system packages: {}",
        missing.join(" ")
    );
    let mut update = apt_get(&missing)?;
    update.arg("update");
    process::run(&mut update).context("`apt-get update` failed")?;
    let mut install = apt_get(&missing)?;
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing);
    process::run(&mut install)
        .with_context(|| format!("could not install system packages: {}", missing.join(" ")))?;

    let still_missing = missing
        .iter()
        .filter_map(|package| match is_installed(package) {
            Ok(true) => None,
            Ok(false) | Err(_) => Some(*package),
        })
        .collect::<Vec<_>>();
    if !still_missing.is_empty() {
        bail!(
            "apt-get reported success but these packages are still not installed: {}",
            still_missing.join(" ")
        );
    }
    Ok(())
}

fn is_installed(package: &str) -> Result<bool> {
    let output = process::capture(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .context(
            "`dpkg-query` is unavailable: xtask installs system packages with apt \
         and needs a Debian-based system",
        )?;
    Ok(output.status.success()
        && String::from_utf8_lossy(&output.stdout).trim() == "install ok installed")
}

/// `apt-get` run as root: directly, through `sudo -n`, or a loud error.
fn apt_get(missing: &[&str]) -> Result<Command> {
    if is_root()? {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        return Ok(cmd);
    }
    let sudo_works = process::capture(Command::new("sudo").args(["-n", "true"]))
        .map(|output| output.status.success())
        .unwrap_or(false);
    if !sudo_works {
        bail!(
            "installing system packages needs root: run as root, allow passwordless \
             `sudo`, or install them yourself: apt-get install {}",
            missing.join(" ")
        );
    }
    let mut cmd = Command::new("sudo");
    cmd.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
    Ok(cmd)
}

/// Whether xtask runs as uid 0 (`id -u`).
pub fn is_root() -> Result<bool> {
    let output = process::capture(Command::new("id").arg("-u"))?;
    if !output.status.success() {
        bail!("`id -u` failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}
