//! Fresh signing keys without stalling requests: generation runs on the blocking pool, and RSA
//! keys (tens of milliseconds each) are generated ahead of need into a small pool, so the first
//! token of a new realm does not wait for one and creating realms stays cheap.

use crate::{App, AppError};
use realmgate_crypto::{SigAlg, SigningKey};
use tokio::sync::{Mutex, mpsc};

#[derive(Default)]
pub(crate) struct KeyPool {
    rsa: std::sync::OnceLock<Mutex<mpsc::Receiver<SigningKey>>>,
}

fn generate(alg: SigAlg) -> Result<SigningKey, AppError> {
    Ok(SigningKey::generate(
        alg,
        realmgate_crypto::random_token(16),
    )?)
}

impl App {
    /// Keeps `size` RSA keys ready, refilled in the background. Idempotent.
    pub fn spawn_key_pool(&self, size: usize) {
        let (tx, rx) = mpsc::channel(size.max(1));
        if self.key_pool().rsa.set(Mutex::new(rx)).is_err() {
            return;
        }
        tokio::spawn(async move {
            loop {
                let made = tokio::task::spawn_blocking(|| generate(SigAlg::RS256)).await;
                match made {
                    Ok(Ok(key)) => {
                        if tx.send(key).await.is_err() {
                            break;
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "RSA key pre-generation failed");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    Err(_) => break,
                }
            }
        });
    }

    /// A new key: from the pool when one is ready, else generated on the blocking pool.
    pub(crate) async fn fresh_key(&self, alg: SigAlg) -> Result<SigningKey, AppError> {
        if alg == SigAlg::RS256
            && let Some(rx) = self.key_pool().rsa.get()
            && let Ok(key) = rx.lock().await.try_recv()
        {
            return Ok(key);
        }
        tokio::task::spawn_blocking(move || generate(alg))
            .await
            .map_err(|_| AppError::internal("key generation was cancelled"))?
    }
}
