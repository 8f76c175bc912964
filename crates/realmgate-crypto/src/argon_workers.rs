//! Dedicated argon2 worker threads, each owning one reusable memory buffer.
//!
//! argon2id at OWASP parameters needs 19 MiB per hash. Allocating that on whichever blocking
//! thread Tokio picks leaves a glibc heap arena per thread holding freed 19 MiB regions, so RSS
//! grew to hundreds of MiB after a burst of logins. A fixed set of threads that reuse their
//! buffer keeps password memory at `workers × m_cost` for the life of the process.

use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Argon2, Block};

use crate::CryptoError;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

pub(crate) struct Workers {
    tx: Mutex<mpsc::Sender<Job>>,
    /// Threads actually started; with none, every job fails instead of waiting forever.
    started: usize,
}

impl Workers {
    pub(crate) fn new(count: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..count.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => break,
                        }
                    }
                });
            if spawned.is_ok() {
                started += 1;
            }
        }
        Self {
            tx: Mutex::new(tx),
            started,
        }
    }

    /// Runs `work` on a worker thread with that thread's memory buffer.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, CryptoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    {
        if self.started == 0 {
            return Err(CryptoError::Hash(
                "no password worker threads could be started".to_owned(),
            ));
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(work(memory));
        });
        self.tx
            .lock()
            .map_err(|_| CryptoError::Hash("password workers unavailable".to_owned()))?
            .send(job)
            .map_err(|_| CryptoError::Hash("password workers unavailable".to_owned()))?;
        result
            .await
            .map_err(|_| CryptoError::Hash("password worker failed".to_owned()))
    }
}

/// argon2 output length (the crate's default), in bytes.
const OUTPUT_LEN: usize = 32;

/// Computes the raw argon2 output into `out` using (and growing once) the worker's buffer.
pub(crate) fn compute(
    argon2: &Argon2<'_>,
    block_count: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), CryptoError> {
    if memory.len() < block_count {
        memory.resize(block_count, Block::new());
    }
    let blocks = memory
        .get_mut(..block_count)
        .ok_or_else(|| CryptoError::Hash("argon2 memory".to_owned()))?;
    argon2
        .hash_password_into_with_memory(password, salt, out, blocks)
        .map_err(|_| CryptoError::Hash("argon2 hashing failed".to_owned()))
}

/// A PHC string for an argon2id v19 hash with these parameters, salt and output.
pub(crate) fn phc(
    params: &argon2::Params,
    salt: &[u8],
    output: &[u8],
) -> Result<String, CryptoError> {
    fn err<E>(_: E) -> CryptoError {
        CryptoError::Hash("cannot encode the PHC string".to_owned())
    }
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(0x13),
        params: ParamsString::try_from(params).map_err(err)?,
        salt: Some(Salt::new(salt).map_err(err)?),
        hash: Some(Output::new(output).map_err(err)?),
    };
    Ok(hash.to_string())
}

pub(crate) const fn output_len() -> usize {
    OUTPUT_LEN
}
