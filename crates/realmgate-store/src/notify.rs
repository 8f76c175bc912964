//! Change notifications between the nodes sharing a database, so each node can drop what it
//! cached. Postgres carries them with `NOTIFY`/`LISTEN` on one channel; the embedded store is a
//! single process, so an in-process broadcast serves the same API. Payloads are small opaque
//! strings chosen by the app layer; delivery is best effort, and a subscriber that may have
//! missed messages is told so (`Ok(None)`) and must assume everything changed.

use crate::{Backend, Store, StoreError};
use tokio::sync::broadcast::error::RecvError;

/// The Postgres channel name.
pub const CHANNEL: &str = "realmgate_invalidate";

/// A stream of notifications from every node (this one included).
pub enum Subscription {
    Postgres(Box<sqlx::postgres::PgListener>),
    Local(tokio::sync::broadcast::Receiver<String>),
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Postgres(_) => "Subscription::Postgres",
            Self::Local(_) => "Subscription::Local",
        })
    }
}

impl Store {
    /// Publishes a notification to every subscriber on every node.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        match self.backend() {
            Backend::Postgres => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(payload)
                    .execute(self.directory().pool())
                    .await?;
            }
            Backend::Sqlite => {
                // No receiver is fine: nothing is cached anywhere yet.
                let _ = self.directory().local_channel().send(payload.to_owned());
            }
        }
        Ok(())
    }

    /// Starts listening. Subscribe before relying on notifications.
    pub async fn subscribe(&self) -> Result<Subscription, StoreError> {
        match self.backend() {
            Backend::Postgres => {
                let mut listener =
                    sqlx::postgres::PgListener::connect(self.directory().url()).await?;
                listener.listen(CHANNEL).await?;
                Ok(Subscription::Postgres(Box::new(listener)))
            }
            Backend::Sqlite => Ok(Subscription::Local(
                self.directory().local_channel().subscribe(),
            )),
        }
    }
}

impl Subscription {
    /// The next payload; `Ok(None)` when messages may have been lost (a reconnect, a lagging
    /// receiver) — the caller should then drop everything it cached.
    pub async fn recv(&mut self) -> Result<Option<String>, StoreError> {
        match self {
            Self::Postgres(listener) => {
                Ok(listener.try_recv().await?.map(|n| n.payload().to_owned()))
            }
            Self::Local(rx) => match rx.recv().await {
                Ok(p) => Ok(Some(p)),
                Err(RecvError::Lagged(_)) => Ok(None),
                Err(RecvError::Closed) => Err(StoreError::config("the store was closed")),
            },
        }
    }
}
