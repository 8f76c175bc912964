//! Where things live: the repository root and xtask's scratch directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn repo_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Scratch space for throwaway databases, server data and logs.
pub fn xtask_dir(root: &Path) -> PathBuf {
    target_dir(root).join("xtask")
}

/// The debug build of the server binary.
pub fn server_binary(root: &Path) -> PathBuf {
    target_dir(root).join("debug").join("realmgate")
}
