//! The crate layering of the architecture, checked from `cargo metadata`: which workspace crate
//! may depend on which, and that only the store touches sqlx and only http/server touch axum.
//! (`deny.toml` states the same boundaries for `cargo deny`; this check needs nothing installed.)

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// (crate, the workspace crates it may depend on directly; `*` = any).
const ALLOWED: &[(&str, &[&str])] = &[
    ("realmgate-domain", &[]),
    ("realmgate-crypto", &["realmgate-domain"]),
    ("realmgate-oidc", &["realmgate-domain", "realmgate-crypto"]),
    ("realmgate-saml", &["realmgate-domain", "realmgate-crypto"]),
    ("realmgate-scim", &["realmgate-domain"]),
    ("realmgate-store", &["realmgate-domain"]),
    (
        "realmgate-app",
        &[
            "realmgate-domain",
            "realmgate-crypto",
            "realmgate-oidc",
            "realmgate-saml",
            "realmgate-scim",
            "realmgate-store",
        ],
    ),
    (
        "realmgate-http",
        &[
            "realmgate-domain",
            "realmgate-crypto",
            "realmgate-oidc",
            "realmgate-app",
        ],
    ),
    (
        "realmgate-server",
        &[
            "realmgate-domain",
            "realmgate-crypto",
            "realmgate-store",
            "realmgate-app",
            "realmgate-http",
        ],
    ),
    ("realmgate-testkit", &["*"]),
    ("realmgate-benches", &["*"]),
    ("xtask", &[]),
];

/// External crates only some workspace crates may use directly.
const RESTRICTED: &[(&str, &[&str])] = &[
    ("sqlx", &["realmgate-store"]),
    ("axum", &["realmgate-http", "realmgate-server"]),
    ("tower-http", &["realmgate-http", "realmgate-server"]),
];

pub fn check(root: &Path) -> Result<()> {
    let out = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let mut problems = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            problems.push(format!(
                "{name}: not in the layering table (xtask/src/layering.rs)"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            // Only normal dependencies define layering; dev-dependencies may reach further.
            if !dep["kind"].is_null() {
                continue;
            }
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if dep_name.starts_with("realmgate-")
                && !allowed.contains(&"*")
                && !allowed.contains(&dep_name)
            {
                problems.push(format!("{name} must not depend on {dep_name}"));
            }
            if let Some((_, users)) = RESTRICTED.iter().find(|(n, _)| *n == dep_name)
                && !users.contains(&name)
            {
                problems.push(format!(
                    "{name} must not depend on {dep_name} (only {})",
                    users.join(", ")
                ));
            }
        }
    }
    if problems.is_empty() {
        println!("xtask: crate layering ok");
        Ok(())
    } else {
        bail!("crate layering violated:\n  {}", problems.join("\n  "))
    }
}
