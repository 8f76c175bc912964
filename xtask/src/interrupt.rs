//! Ctrl-C / SIGTERM handling: the first signal sets a flag so running stages
//! stop and every guard (Postgres, server, temp dirs) cleans up; a second
//! signal exits immediately.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

pub fn install() -> Result<()> {
    let requested = REQUESTED.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // Order matters: the conditional shutdown fires only when the flag
        // was already set, i.e. on the second signal.
        flag::register_conditional_shutdown(signal, 130, Arc::clone(requested))
            .with_context(|| format!("installing handler for signal {signal}"))?;
        flag::register(signal, Arc::clone(requested))
            .with_context(|| format!("installing handler for signal {signal}"))?;
    }
    Ok(())
}

pub fn requested() -> bool {
    REQUESTED
        .get()
        .is_some_and(|requested| requested.load(Ordering::SeqCst))
}
