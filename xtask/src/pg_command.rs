//! `cargo xtask pg`: a throwaway Postgres for local development, up until
//! Ctrl-C.

use std::thread::sleep;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::postgres::Postgres;
use crate::{interrupt, paths, system};

pub fn run() -> Result<()> {
    let root = paths::repo_root()?;
    system::ensure_packages(&[system::POSTGRES_PACKAGE])?;
    let postgres = Postgres::start(&paths::xtask_dir(&root))?;
    let url = postgres.url();
    println!();
    println!("Postgres is running on 127.0.0.1:{}", postgres.port());
    println!("  URL:      {url}");
    println!("  data dir: {}", postgres.data_dir().display());
    println!("  log:      {}", postgres.log_file().display());
    println!();
    println!("export REALMGATE_TEST_STORE=postgres");
    println!("export REALMGATE_TEST_DATABASE_URL={url}");
    println!("export REALMGATE_DATABASE_URL={url}");
    println!();
    println!("Press Ctrl-C to stop it (its data is deleted).");
    let mut ticks: u32 = 0;
    while !interrupt::requested() {
        sleep(Duration::from_millis(200));
        ticks = ticks.wrapping_add(1);
        // Every ~5 s, make sure the server hasn't died underneath us.
        if ticks.is_multiple_of(25) && !postgres.is_running() {
            bail!(
                "Postgres stopped unexpectedly; see {}",
                postgres.log_file().display()
            );
        }
    }
    println!("\nxtask: Ctrl-C received, stopping Postgres");
    drop(postgres);
    Ok(())
}
