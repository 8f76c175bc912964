//! The connections one-round-trip transactions (`one_trip.rs`) run on, kept apart from sqlx's
//! pool: that pool pings every connection it takes back — one more round trip per transaction —
//! and has no setting to stop it. Here a connection whose query succeeded goes back to the idle
//! list as it is; one whose query failed is closed. Like the sqlx pool (see `shard.rs`), a
//! connection idle for a second or more is pinged before use, so one lost in a database restart
//! is replaced instead of failing a request.

use crate::StoreError;
use sqlx::{AnyConnection, Connection};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An idle connection is pinged before use after this long (as the sqlx pool's `before_acquire`).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// How long a caller waits for a free connection (sqlx's default acquire timeout).
const ACQUIRE_WAIT: Duration = Duration::from_secs(30);

/// A bounded set of connections to one database.
pub(crate) struct TripPool {
    url: String,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    slots: Arc<Semaphore>,
}

/// A connection taken from a [`TripPool`]; hand it back with [`TripPool::give_back`], or drop it
/// to close it (its slot is freed either way).
pub(crate) struct TripConn {
    pub conn: AnyConnection,
    _slot: OwnedSemaphorePermit,
}

impl TripPool {
    pub(crate) fn new(url: &str, size: u32) -> Self {
        Self {
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(size.max(1) as usize)),
        }
    }

    /// A connection: an idle one (pinged first if it sat idle a while) or a new one.
    pub(crate) async fn take(&self) -> Result<TripConn, StoreError> {
        let slot = tokio::time::timeout(ACQUIRE_WAIT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::config("the database is busy: no connection within 30 s"))?
            .map_err(|_| StoreError::config("the store is closed"))?;
        loop {
            let next = self.idle().pop();
            let conn = match next {
                Some((mut conn, since)) if since.elapsed() >= PING_IF_IDLE_FOR => {
                    match conn.ping().await {
                        Ok(()) => conn,
                        Err(_) => continue,
                    }
                }
                Some((conn, _)) => conn,
                None => AnyConnection::connect(&self.url).await?,
            };
            return Ok(TripConn { conn, _slot: slot });
        }
    }

    /// Returns a connection that is idle (no transaction open) for the next caller.
    pub(crate) fn give_back(&self, taken: TripConn) {
        self.idle().push((taken.conn, Instant::now()));
    }

    /// Closes the idle connections and refuses new callers.
    pub(crate) async fn close(&self) {
        self.slots.close();
        let idle = std::mem::take(&mut *self.idle());
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<(AnyConnection, Instant)>> {
        // The lock is only held to push or pop, so a poisoned lock still guards a valid list.
        match self.idle.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}
