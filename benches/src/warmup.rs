//! Before the measurements: the first client-credentials token of each new realm (which makes
//! the server generate its ES256 key) and the first JWKS of each realm of the token sample
//! (its RS256 key), so the scenarios measure the steady state. An RS256 key costs ~100 ms of CPU
//! to generate, so only the sampled realms get one: at 100,000 realms all of them would take
//! more than an hour on two cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Result;
use bytes::Bytes;

use crate::scenario::{CC_BODY, Target};
use crate::stats::{Summary, micros};

#[derive(Debug, serde::Serialize)]
pub struct WarmReport {
    /// Realms that got their first token here.
    pub realms: usize,
    /// Realms that got their first JWKS here.
    pub jwks_realms: usize,
    pub seconds: f64,
    /// Per realm: its JWKS (when in the sample) and its token.
    pub per_realm_ms: Summary,
    pub failures: usize,
}

/// The first token of realms `from..target.active`, and the first JWKS of every sampled realm
/// that has not had one.
pub async fn first_tokens(
    target: &Arc<Target>,
    from: usize,
    concurrency: usize,
) -> Result<WarmReport> {
    let t0 = Instant::now();
    let jwks: Arc<std::collections::HashSet<usize>> = {
        let mut done = target.shared.jwks_done.lock().await;
        let new: std::collections::HashSet<usize> = target
            .sample
            .realms
            .iter()
            .copied()
            .filter(|r| !done.contains(r))
            .collect();
        done.extend(new.iter().copied());
        Arc::new(new)
    };
    // New realms, then sampled older ones that still need their JWKS.
    let mut todo: Vec<usize> = (from..target.active).collect();
    todo.extend(jwks.iter().copied().filter(|&r| r < from));
    let todo = Arc::new(todo);
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (target, next, todo, jwks) = (
            Arc::clone(target),
            Arc::clone(&next),
            Arc::clone(&todo),
            Arc::clone(&jwks),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&i) = todo.get(k) else { break };
                let Some(ep) = target.realms.get(i) else {
                    break;
                };
                let s = Instant::now();
                if jwks.contains(&i) {
                    match target.http.get(&ep.jwks, None).await {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(format!("{} JWKS: {}", ep.name, r.status)),
                        Err(e) => failures.push(format!("{} JWKS: {e:?}", ep.name)),
                    }
                }
                if i >= from {
                    match target
                        .http
                        .post_form(&ep.token, Some(&target.basic), Bytes::from_static(CC_BODY))
                        .await
                    {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(format!(
                            "{}: {} {}",
                            ep.name,
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        )),
                        Err(e) => failures.push(format!("{}: {e:?}", ep.name)),
                    }
                }
                lat.push(micros(s.elapsed()));
            }
            (lat, failures)
        }));
    }
    let mut lat = Vec::new();
    let mut failures = Vec::new();
    for t in tasks {
        let (l, f) = t.await?;
        lat.extend(l);
        failures.extend(f);
    }
    for f in failures.iter().take(5) {
        eprintln!("first token failed: {f}");
    }
    Ok(WarmReport {
        realms: target.active.saturating_sub(from),
        jwks_realms: jwks.len(),
        seconds: t0.elapsed().as_secs_f64(),
        per_realm_ms: Summary::of_micros(lat),
        failures: failures.len(),
    })
}
