//! The token sample: the realms whose user tokens the userinfo, introspection and refresh
//! operations use (and whose RS256 keys the JWKS operation reads). A user token costs one
//! argon2id login, so at 100,000 realms the bench logs in to at most `--token-realms` realms,
//! spread evenly over all of them, and keeps their tokens from one scenario (and curve step) to
//! the next, renewing them with a refresh grant instead of a new login.
//!
//! With `--same-tokens` a step with fewer realms than `--token-realms` still carries that many
//! tokens: the sample's slots cycle over its realms, each slot its own login (its own session
//! and jti) of the realm's user. A curve's steps then differ in their realm count only, not in
//! how many distinct tokens the server and the load generator keep hot.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::sync::Mutex;

use crate::scenario::{Picker, Rng, Target};

/// Access tokens older than this are renewed before a scenario (they live 300 s by default).
const RENEW_AFTER: Duration = Duration::from_secs(120);

/// At most `max` realm indices of `0..active`, evenly spread (all of them when `max >= active`).
pub fn spread(active: usize, max: usize) -> Vec<usize> {
    let m = max.clamp(1, active.max(1)).min(active);
    (0..m).map(|j| j * active / m).collect()
}

/// How many user tokens the sample holds.
#[derive(Debug, Clone, Copy)]
pub struct SampleSize {
    /// Most realms (`--token-realms`).
    pub max: usize,
    /// `max` tokens even over fewer realms (`--same-tokens`).
    pub same_tokens: bool,
}

/// The sample's slots: a realm index per token. `spread`, or with `same_tokens` and fewer than
/// `max` realms, `max` slots cycling over all of them.
pub fn slots(active: usize, size: SampleSize) -> Vec<usize> {
    if size.same_tokens && active > 0 && active < size.max {
        (0..size.max).map(|j| j % active).collect()
    } else {
        spread(active, size.max)
    }
}

/// The sampled realms and how requests are spread over them.
pub struct Sample {
    /// The realm of each token (a realm appears more than once with `--same-tokens`).
    pub realms: Vec<usize>,
    pub picker: Picker,
}

impl Sample {
    pub fn new(active: usize, size: SampleSize, zipf: Option<f64>) -> Self {
        let realms = slots(active, size);
        let picker = match zipf {
            Some(s) => Picker::zipf(realms.len(), s),
            None => Picker::Uniform(realms.len()),
        };
        Self { realms, picker }
    }

    /// How many distinct realms the tokens are of.
    pub fn distinct_realms(&self) -> usize {
        self.realms
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// (realm, n): the slot is the realm's n-th in the sample (its n-th login).
    fn slot(&self, j: usize) -> Option<(usize, usize)> {
        let realm = *self.realms.get(j)?;
        let nth = self.realms.iter().take(j).filter(|&&r| r == realm).count();
        Some((realm, nth))
    }

    /// (position in the sample, realm index).
    pub fn pick(&self, rng: &mut Rng) -> (usize, usize) {
        let j = self.picker.pick(rng);
        (j, self.realms.get(j).copied().unwrap_or(0))
    }
}

/// A user's access token for a realm, as the userinfo and introspection requests carry it.
pub struct UserTok {
    pub bearer: HeaderValue,
    pub introspect_body: Bytes,
}

struct Cached {
    access: String,
    refresh: Option<String>,
    at: Instant,
}

/// Tokens and warmed keys kept across scenarios and curve steps.
#[derive(Default)]
pub struct Shared {
    /// By (realm, n): the realm's n-th token of the sample.
    users: Mutex<HashMap<(usize, usize), Cached>>,
    /// Realms whose RS256 key a JWKS request has already created.
    pub jwks_done: Mutex<std::collections::HashSet<usize>>,
    /// Password logins and refresh renewals spent on user tokens.
    pub logins: AtomicU64,
    pub renewals: AtomicU64,
}

#[derive(serde::Deserialize)]
struct TokenResp {
    access_token: String,
    refresh_token: Option<String>,
}

impl Target {
    /// A fresh user token for a slot `(realm, n)`: the cached one, a refresh of it, or a new
    /// login.
    async fn user_token(&self, slot: (usize, usize)) -> Result<String> {
        let realm = slot.0;
        let cached = self.shared.users.lock().await.remove(&slot);
        let renewed = match cached {
            Some(c) if c.at.elapsed() < RENEW_AFTER => Some(c),
            Some(Cached {
                refresh: Some(r), ..
            }) => self.refresh_once(realm, &r).await,
            _ => None,
        };
        let fresh = match renewed {
            Some(c) => c,
            None => {
                let body = self.login_json(realm).await?;
                self.shared.logins.fetch_add(1, Ordering::Relaxed);
                let t: TokenResp = serde_json::from_slice(&body)?;
                Cached {
                    access: t.access_token,
                    refresh: t.refresh_token,
                    at: Instant::now(),
                }
            }
        };
        let access = fresh.access.clone();
        self.shared.users.lock().await.insert(slot, fresh);
        Ok(access)
    }

    async fn refresh_once(&self, realm: usize, token: &str) -> Option<Cached> {
        let body = self.refresh_json(realm, token).await.ok()?;
        let t: TokenResp = serde_json::from_slice(&body).ok()?;
        self.shared.renewals.fetch_add(1, Ordering::Relaxed);
        Some(Cached {
            access: t.access_token,
            refresh: t.refresh_token,
            at: Instant::now(),
        })
    }
}

/// User tokens for every realm of the target's sample (in sample order).
pub async fn user_tokens(target: &Arc<Target>, concurrency: usize) -> Result<Vec<UserTok>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let target = Arc::clone(target);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let j = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(slot) = target.sample.slot(j) else {
                    break;
                };
                let access = target
                    .user_token(slot)
                    .await
                    .with_context(|| format!("user token of realm #{}", slot.0))?;
                out.push((
                    j,
                    UserTok {
                        bearer: HeaderValue::from_str(&format!("Bearer {access}"))?,
                        introspect_body: Bytes::from(format!(
                            "token={access}&token_type_hint=access_token"
                        )),
                    },
                ));
            }
            anyhow::Ok(out)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(j, _)| *j);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_even_and_bounded() {
        assert_eq!(spread(10, 1000), (0..10).collect::<Vec<_>>());
        assert_eq!(spread(100_000, 1000).len(), 1000);
        assert_eq!(spread(100_000, 1000).get(1), Some(&100));
        assert_eq!(spread(100_000, 1000).last(), Some(&99_900));
        assert_eq!(spread(5, 0), vec![0]);
    }

    #[test]
    fn same_tokens_cycles_over_fewer_realms_and_changes_nothing_over_more() {
        let same = |max| SampleSize {
            max,
            same_tokens: true,
        };
        assert_eq!(slots(3, same(7)), vec![0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(slots(100_000, same(1000)), spread(100_000, 1000));
        assert_eq!(slots(1000, same(1000)), spread(1000, 1000));
        let sample = Sample::new(3, same(7), None);
        assert_eq!(sample.distinct_realms(), 3);
        assert_eq!(sample.slot(0), Some((0, 0)));
        assert_eq!(sample.slot(4), Some((1, 1)));
        assert_eq!(sample.slot(6), Some((0, 2)));
        assert_eq!(sample.slot(7), None);
    }
}
