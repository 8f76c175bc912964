//! Brute-force protection: failed logins are counted per user and per client IP; past the
//! realm's threshold the subject is locked out for a growing, capped time.

use crate::AppError;
use realmgate_domain::{BruteForce, LoginFailures};
use realmgate_store::RealmTx;

pub fn user_subject(user_id: &str) -> String {
    format!("user:{user_id}")
}
pub fn ip_subject(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds left in a lockout, if any.
pub async fn locked_for(
    tx: &mut RealmTx,
    subject: &str,
    now: i64,
) -> Result<Option<i64>, AppError> {
    Ok(tx
        .failures_of(subject)
        .await?
        .and_then(|f| (f.locked_until > now).then_some(f.locked_until - now)))
}

/// Records a failure and returns the lockout (seconds) it triggered, if any.
pub async fn record_failure(
    tx: &mut RealmTx,
    policy: &BruteForce,
    subject: &str,
    threshold: i64,
    now: i64,
) -> Result<Option<i64>, AppError> {
    let prev = tx.failures_of(subject).await?;
    let failures = match &prev {
        Some(p) if now - p.last_failure <= policy.failure_reset_seconds => p.failures + 1,
        _ => 1,
    };
    let lock = if failures >= threshold {
        let steps = failures - threshold + 1;
        Some(
            (policy.wait_increment_seconds.saturating_mul(steps))
                .min(policy.max_wait_seconds)
                .max(1),
        )
    } else {
        None
    };
    tx.put_failures(&LoginFailures {
        subject: subject.to_owned(),
        failures,
        last_failure: now,
        locked_until: lock.map(|l| now + l).unwrap_or(0),
    })
    .await?;
    Ok(lock)
}
