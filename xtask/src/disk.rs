//! Free disk space before a run: a full disk shows up late and far from its cause (a Postgres
//! PANIC in the middle of the test pass), so the pipeline reports it first.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process;

/// What a run from a clean clone needs: the debug build (~5 GiB) plus the tests' stores.
pub const NEEDED_GIB: u64 = 8;

/// Fails when the filesystem of any of `paths` has less than [`NEEDED_GIB`] free.
pub fn ensure_free_space(paths: &[&Path]) -> Result<()> {
    for path in paths {
        let free = free_gib(path)?;
        println!("xtask: {free} GiB free at {}", path.display());
        if free < NEEDED_GIB {
            bail!(
                "only {free} GiB free at {}; a test run needs about {NEEDED_GIB} GiB \
                 (build output and test stores): free some space and run again",
                path.display()
            );
        }
    }
    Ok(())
}

/// Free GiB (rounded down) on the filesystem holding `path`, from POSIX `df -Pk`.
fn free_gib(path: &Path) -> Result<u64> {
    let output = process::run_captured(Command::new("df").arg("-Pk").arg(path))?;
    parse_df_available_kib(&output)
        .map(|kib| kib / (1024 * 1024))
        .with_context(|| format!("reading `df -Pk {}`: {output:?}", path.display()))
}

/// The "Available" column (KiB) of `df -Pk`'s single data line.
fn parse_df_available_kib(output: &str) -> Option<u64> {
    output
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::parse_df_available_kib;

    #[test]
    fn reads_the_available_column() {
        let out = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                   /dev/vda         263174212  41943040  54525952      44% /\n";
        assert_eq!(parse_df_available_kib(out), Some(54_525_952));
        assert_eq!(parse_df_available_kib("Filesystem\n"), None);
    }
}
