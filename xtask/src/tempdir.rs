//! A directory that is deleted when dropped.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::process;

pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `path` fresh (removing a leftover of the same name first).
    pub fn create(path: PathBuf) -> Result<Self> {
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing stale {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }

    /// A directory `<prefix><pid>` in the temp dir for this xtask process, after deleting those
    /// that xtask runs killed before they could clean up (their pid no longer exists).
    pub fn for_this_run(prefix: &str) -> Result<Self> {
        let tmp = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let dead = name
                    .strip_prefix(prefix)
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !process::xtask_alive(pid));
                if dead {
                    println!("xtask: removing stale {}", entry.path().display());
                    if let Err(err) = std::fs::remove_dir_all(entry.path()) {
                        eprintln!(
                            "xtask: warning: could not remove {}: {err}",
                            entry.path().display()
                        );
                    }
                }
            }
        }
        Self::create(tmp.join(format!("{prefix}{}", std::process::id())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "xtask: warning: could not remove {}: {err}",
                self.path.display()
            );
        }
    }
}
