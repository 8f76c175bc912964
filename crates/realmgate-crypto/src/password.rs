//! argon2id password hashing on a bounded pool of blocking threads, so a login flood queues (and
//! then sheds load with [`CryptoError::Overloaded`]) instead of starving the async runtime.
//!
//! Passwords are held in [`Zeroizing`] buffers, wiped after use, and never appear in errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use crate::hashing::random_bytes;
use crate::{CryptoError, argon_workers};

/// Salt length in bytes (the argon2 crate's recommendation).
const SALT_LEN: usize = 16;
/// Fixed salt for [`PasswordHasher::verify_dummy`]; its output is discarded.
const DUMMY_SALT: [u8; SALT_LEN] = *b"realmgate-dummy!";

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism (lanes).
    pub p_cost: u32,
}

impl PasswordParams {
    /// OWASP Password Storage Cheat Sheet argon2id minimum: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        m_cost: 19_456,
        t_cost: 2,
        p_cost: 1,
    };

    fn argon2(self) -> Result<Argon2<'static>, CryptoError> {
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, None)
            .map_err(|_| CryptoError::Hash("invalid argon2 parameters".to_owned()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// The outcome of checking a password against a stored PHC string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordVerdict {
    /// The password matches.
    pub ok: bool,
    /// The stored hash is not argon2id v19 with the hasher's current parameters; after a
    /// successful login the caller should store a fresh [`PasswordHasher::hash`].
    pub needs_rehash: bool,
}

/// Hashes a password synchronously with a fresh random salt (for the CLI; servers use
/// [`PasswordHasher`]). Returns a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
pub fn hash_password_blocking(
    params: PasswordParams,
    password: &str,
) -> Result<String, CryptoError> {
    let salt = random_bytes::<SALT_LEN>();
    params
        .argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| CryptoError::Hash("argon2 hashing failed".to_owned()))
}

#[cfg(test)]
fn verify_blocking(
    params: PasswordParams,
    password: &str,
    phc: &str,
) -> Result<PasswordVerdict, CryptoError> {
    use argon2::PasswordVerifier as _;
    let malformed = || CryptoError::Hash("malformed PHC string".to_owned());
    let parsed = PasswordHash::new(phc).map_err(|_| malformed())?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(malformed());
    }
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(CryptoError::Hash(
            "unsupported password hash algorithm".to_owned(),
        ));
    }
    let stored = Params::try_from(&parsed)
        .map_err(|_| CryptoError::Hash("invalid argon2 parameters".to_owned()))?;
    let needs_rehash = parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(u32::from(Version::V0x13))
        || stored.m_cost() != params.m_cost
        || stored.t_cost() != params.t_cost
        || stored.p_cost() != params.p_cost;
    // Algorithm, version and costs for verification come from the PHC string itself.
    let ok = match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(_) => return Err(CryptoError::Hash("argon2 verification failed".to_owned())),
    };
    Ok(PasswordVerdict { ok, needs_rehash })
}

/// [`hash_password_blocking`] on a worker's reusable memory.
fn hash_with_memory(
    params: PasswordParams,
    password: &[u8],
    salt: &[u8],
    memory: &mut Vec<argon2::Block>,
) -> Result<String, CryptoError> {
    let argon2 = params.argon2()?;
    let p = argon2_params(params)?;
    let mut out = [0u8; argon_workers::output_len()];
    argon_workers::compute(&argon2, p.block_count(), password, salt, &mut out, memory)?;
    argon_workers::phc(&p, salt, &out)
}

fn argon2_params(params: PasswordParams) -> Result<Params, CryptoError> {
    Params::new(params.m_cost, params.t_cost, params.p_cost, None)
        .map_err(|_| CryptoError::Hash("invalid argon2 parameters".to_owned()))
}

/// [`verify_blocking`] on a worker's reusable memory: recomputes with the stored algorithm,
/// version, costs and salt, and compares in constant time.
fn verify_with_memory(
    params: PasswordParams,
    password: &[u8],
    phc: &str,
    memory: &mut Vec<argon2::Block>,
) -> Result<PasswordVerdict, CryptoError> {
    let malformed = || CryptoError::Hash("malformed PHC string".to_owned());
    let parsed = PasswordHash::new(phc).map_err(|_| malformed())?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(malformed());
    };
    let algorithm = Algorithm::new(parsed.algorithm.as_str())
        .map_err(|_| CryptoError::Hash("unsupported password hash algorithm".to_owned()))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|_| malformed())?,
        None => Version::V0x10,
    };
    let stored = Params::try_from(&parsed)
        .map_err(|_| CryptoError::Hash("invalid argon2 parameters".to_owned()))?;
    let needs_rehash = algorithm != Algorithm::Argon2id
        || version != Version::V0x13
        || stored.m_cost() != params.m_cost
        || stored.t_cost() != params.t_cost
        || stored.p_cost() != params.p_cost;
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, stored.clone());
    argon_workers::compute(
        &argon2,
        stored.block_count(),
        password,
        &salt,
        &mut out,
        memory,
    )?;
    let ok = crate::hashing::constant_time_eq(&out, expected);
    Ok(PasswordVerdict { ok, needs_rehash })
}

/// A cloneable handle to the shared, bounded argon2id pool.
///
/// At most `max_concurrent` hashes run at once (each on a `spawn_blocking` thread); at most
/// `max_queue` further callers wait for a slot, and any caller beyond that gets
/// [`CryptoError::Overloaded`] at once. Requires a Tokio runtime.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: PasswordParams,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_queue: usize,
    workers: argon_workers::Workers,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("available", &self.inner.permits.available_permits())
            .field("waiting", &self.waiting())
            .field("max_queue", &self.inner.max_queue)
            .finish()
    }
}

/// Decrements the wait counter when a queued caller stops waiting (permit granted or dropped).
struct QueueSlot<'a>(&'a AtomicUsize);

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// A pool hashing with `params`. `max_concurrent` is clamped to at least 1.
    pub fn new(params: PasswordParams, max_concurrent: usize, max_queue: usize) -> Self {
        let permits = max_concurrent.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(permits)),
                waiting: AtomicUsize::new(0),
                max_queue,
                workers: argon_workers::Workers::new(permits),
            }),
        }
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> PasswordParams {
        self.inner.params
    }

    /// Callers currently queued for a worker (for metrics).
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::Acquire)
    }

    /// Hashes `password` with a fresh salt; returns a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, CryptoError> {
        let password = Zeroizing::new(password);
        let params = self.inner.params;
        let salt = random_bytes::<SALT_LEN>();
        self.run(move |memory| hash_with_memory(params, password.as_bytes(), &salt, memory))
            .await?
    }

    /// Checks `password` against a stored PHC string. A mismatch is `Ok` with `ok: false`; an
    /// unparsable or non-argon2 PHC string is an error.
    pub async fn verify(
        &self,
        password: String,
        phc: String,
    ) -> Result<PasswordVerdict, CryptoError> {
        let password = Zeroizing::new(password);
        let params = self.inner.params;
        self.run(move |memory| verify_with_memory(params, password.as_bytes(), &phc, memory))
            .await?
    }

    /// Spends the same work as a verification at the current parameters, for unknown users, so
    /// response time does not reveal whether an account exists. Errors are ignored.
    pub async fn verify_dummy(&self, password: String) {
        let password = Zeroizing::new(password);
        let params = self.inner.params;
        let _ = self
            .run(move |memory| hash_with_memory(params, password.as_bytes(), &DUMMY_SALT, memory))
            .await;
    }

    /// Runs `work` on a blocking thread while holding a worker permit.
    async fn run<T, F>(&self, work: F) -> Result<T, CryptoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Vec<argon2::Block>) -> T + Send + 'static,
    {
        let permit = self.acquire().await?;
        self.inner
            .workers
            .run(move |memory| {
                // The permit moves here so it is held until the hash finishes, even if the
                // caller's future is dropped meanwhile.
                let _permit = permit;
                work(memory)
            })
            .await
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, CryptoError> {
        let inner = &self.inner;
        if let Ok(permit) = Arc::clone(&inner.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let already_waiting = inner.waiting.fetch_add(1, Ordering::AcqRel);
        let _slot = QueueSlot(&inner.waiting);
        if already_waiting >= inner.max_queue {
            return Err(CryptoError::Overloaded);
        }
        Arc::clone(&inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| CryptoError::Overloaded)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Minimal argon2id cost so tests are fast.
    const FAST: PasswordParams = PasswordParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };

    #[tokio::test]
    async fn worker_hashes_interoperate_with_the_argon2_crate() -> Result<(), CryptoError> {
        let pool = PasswordHasher::new(FAST, 1, 4);
        let ours = pool.hash("pw-1".to_owned()).await?;
        assert!(ours.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{ours}");
        assert!(
            verify_blocking(FAST, "pw-1", &ours)?.ok,
            "the argon2 crate verifies our hash"
        );
        let theirs = hash_password_blocking(FAST, "pw-1")?;
        assert!(
            pool.verify("pw-1".to_owned(), theirs.clone()).await?.ok,
            "we verify the crate's hash"
        );
        assert!(!pool.verify("pw-2".to_owned(), theirs).await?.ok);
        assert!(!pool.verify("pw-2".to_owned(), ours).await?.ok);
        Ok(())
    }

    #[test]
    fn owasp_params_match_argon2_crate_defaults() {
        let defaults = Params::default();
        assert_eq!(
            PasswordParams::OWASP,
            PasswordParams {
                m_cost: defaults.m_cost(),
                t_cost: defaults.t_cost(),
                p_cost: defaults.p_cost(),
            }
        );
        assert_eq!(PasswordParams::OWASP.m_cost, 19_456);
        assert_eq!(PasswordParams::default(), PasswordParams::OWASP);
    }

    #[test]
    fn rfc9106_phc_string_is_argon2id_v19_with_params() -> Result<(), CryptoError> {
        let phc = hash_password_blocking(FAST, "correct horse")?;
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert_ne!(phc, hash_password_blocking(FAST, "correct horse")?);
        Ok(())
    }

    #[tokio::test]
    async fn hash_then_verify() -> Result<(), CryptoError> {
        let hasher = PasswordHasher::new(FAST, 2, 8);
        let phc = hasher.hash("correct horse".to_owned()).await?;
        let good = hasher
            .verify("correct horse".to_owned(), phc.clone())
            .await?;
        assert_eq!(
            good,
            PasswordVerdict {
                ok: true,
                needs_rehash: false
            }
        );
        let bad = hasher.verify("wrong horse".to_owned(), phc).await?;
        assert!(!bad.ok);
        Ok(())
    }

    #[tokio::test]
    async fn needs_rehash_when_params_change() -> Result<(), CryptoError> {
        let old = hash_password_blocking(FAST, "pw")?;
        let stronger = PasswordParams { t_cost: 2, ..FAST };
        let hasher = PasswordHasher::new(stronger, 1, 4);
        let verdict = hasher.verify("pw".to_owned(), old).await?;
        assert_eq!(
            verdict,
            PasswordVerdict {
                ok: true,
                needs_rehash: true
            }
        );
        let fresh = hasher.hash("pw".to_owned()).await?;
        assert!(!hasher.verify("pw".to_owned(), fresh).await?.needs_rehash);
        Ok(())
    }

    #[tokio::test]
    async fn needs_rehash_for_argon2i() -> Result<(), CryptoError> {
        let params = Params::new(FAST.m_cost, FAST.t_cost, FAST.p_cost, None)
            .map_err(|_| CryptoError::Internal)?;
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
            .hash_password_with_salt(b"pw", b"saltsaltsaltsalt")
            .map_err(|_| CryptoError::Internal)?
            .to_string();
        assert!(argon2i.starts_with("$argon2i$"));
        let verdict = PasswordHasher::new(FAST, 1, 1)
            .verify("pw".to_owned(), argon2i)
            .await?;
        assert!(verdict.ok && verdict.needs_rehash);
        Ok(())
    }

    #[tokio::test]
    async fn malformed_phc_is_an_error_without_the_password() {
        let hasher = PasswordHasher::new(FAST, 1, 1);
        for phc in [
            "",
            "plaintext",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$argon2id$v=19$m=8",
        ] {
            let err = hasher
                .verify("hunter2-secret".to_owned(), phc.to_owned())
                .await;
            match err {
                Err(CryptoError::Hash(msg)) => assert!(!msg.contains("hunter2")),
                other => assert!(other.is_err(), "{phc}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn verify_dummy_completes() {
        PasswordHasher::new(FAST, 1, 1)
            .verify_dummy("whatever".to_owned())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overloaded_when_queue_is_full() -> Result<(), CryptoError> {
        // A deliberately slow hash occupies the only worker.
        let slow = PasswordParams {
            m_cost: 16 * 1024,
            t_cost: 2,
            p_cost: 1,
        };
        let hasher = PasswordHasher::new(slow, 1, 0);
        let busy = hasher.clone();
        let first = tokio::spawn(async move { busy.hash("pw".to_owned()).await });
        // Wait until the first hash holds the permit.
        for _ in 0..200 {
            if hasher.inner.permits.available_permits() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(hasher.inner.permits.available_permits(), 0);
        assert_eq!(
            hasher.hash("pw".to_owned()).await,
            Err(CryptoError::Overloaded)
        );
        assert_eq!(
            hasher.verify("pw".to_owned(), "x".to_owned()).await,
            Err(CryptoError::Overloaded)
        );
        assert_eq!(hasher.waiting(), 0, "rejected callers leave the queue");
        let phc = first.await.map_err(|_| CryptoError::Internal)??;
        assert!(phc.starts_with("$argon2id$"));
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_callers_wait_for_a_worker() -> Result<(), CryptoError> {
        let hasher = PasswordHasher::new(FAST, 1, 16);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let h = hasher.clone();
                tokio::spawn(async move { h.hash(format!("pw{i}")).await })
            })
            .collect();
        for task in tasks {
            let phc = task.await.map_err(|_| CryptoError::Internal)??;
            assert!(phc.starts_with("$argon2id$"));
        }
        assert_eq!(hasher.waiting(), 0);
        assert_eq!(hasher.inner.permits.available_permits(), 1);
        Ok(())
    }
}
