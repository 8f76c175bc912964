//! Housekeeping: removing what has expired.

use crate::{RealmTx, StoreError};
use realmgate_domain::Epoch;

/// Children first; `$2` is "now". Each statement uses a `(realm_id, expires_at)` index.
const PURGE_EXPIRED: &[&str] = &[
    "DELETE FROM auth_codes WHERE realm_id = $1 AND expires_at < $2",
    "DELETE FROM refresh_tokens WHERE realm_id = $1 AND expires_at < $2",
    "DELETE FROM token_families WHERE realm_id = $1 AND expires_at < $2",
    "DELETE FROM user_sessions WHERE realm_id = $1 AND expires_at < $2",
    "DELETE FROM revoked_tokens WHERE realm_id = $1 AND expires_at < $2",
];

impl RealmTx {
    /// Deletes this realm's codes, refresh tokens, token families, sessions and revoked token ids
    /// that expired before `now` (with what cascades from them). Returns the rows deleted directly.
    pub async fn purge_expired(&mut self, now: Epoch) -> Result<u64, StoreError> {
        let (realm, db) = self.parts();
        let mut deleted = 0;
        for stmt in PURGE_EXPIRED {
            deleted += sqlx::query(*stmt)
                .bind(realm)
                .bind(now)
                .execute(&mut *db)
                .await?
                .rows_affected();
        }
        Ok(deleted)
    }
}
