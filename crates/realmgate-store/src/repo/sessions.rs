//! Browser SSO sessions. Revoking a session also revokes the token families issued under it.

use super::found;
use crate::row::{RowExt, flag, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{Epoch, SessionId, UserId, UserSession};
use sqlx::any::AnyRow;

fn session_from_row(row: &AnyRow) -> Result<UserSession, StoreError> {
    Ok(UserSession {
        id: SessionId(row.text("id")?),
        user_id: UserId(row.text("user_id")?),
        auth_time: row.int("auth_time")?,
        last_seen: row.int("last_seen")?,
        expires_at: row.int("expires_at")?,
        amr: row.json("amr")?,
        revoked: row.flag("revoked")?,
    })
}

impl RealmTx {
    /// `NotFound` if the user is absent; `Conflict("user_sessions_id")` on a duplicate id.
    pub async fn insert_session(&mut self, s: &UserSession) -> Result<(), StoreError> {
        let amr = json(&s.amr)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO user_sessions (realm_id, id, user_id, auth_time, last_seen, expires_at, \
             amr, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(realm)
        .bind(s.id.as_str())
        .bind(s.user_id.as_str())
        .bind(s.auth_time)
        .bind(s.last_seen)
        .bind(s.expires_at)
        .bind(amr)
        .bind(flag(s.revoked))
        .execute(db)
        .await?;
        Ok(())
    }

    /// The session whether revoked or expired; the caller judges.
    pub async fn session_by_id(
        &mut self,
        id: &SessionId,
    ) -> Result<Option<UserSession>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(
            "SELECT id, user_id, auth_time, last_seen, expires_at, amr, revoked \
             FROM user_sessions WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Moves `last_seen` forward (never back). `NotFound` if absent.
    pub async fn touch_session(
        &mut self,
        id: &SessionId,
        last_seen: Epoch,
    ) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE user_sessions \
             SET last_seen = CASE WHEN last_seen < $3 THEN $3 ELSE last_seen END \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(id.as_str())
        .bind(last_seen)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Marks the session revoked and revokes every token family issued under it (their
    /// `revoked_at` is the session's `last_seen`, its last known activity, unless already set).
    /// `NotFound` if absent.
    pub async fn revoke_session(&mut self, id: &SessionId) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        let done =
            sqlx::query("UPDATE user_sessions SET revoked = 1 WHERE realm_id = $1 AND id = $2")
                .bind(realm)
                .bind(id.as_str())
                .execute(&mut *db)
                .await?;
        found(done.rows_affected())?;
        sqlx::query(
            "UPDATE token_families SET revoked_at = COALESCE(revoked_at, \
                 (SELECT s.last_seen FROM user_sessions s \
                  WHERE s.realm_id = token_families.realm_id AND s.id = token_families.session_id)) \
             WHERE realm_id = $1 AND session_id = $2",
        )
        .bind(realm)
        .bind(id.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// Revokes all of the user's sessions and their token families (idempotent).
    pub async fn revoke_user_sessions(&mut self, user: &UserId) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "UPDATE user_sessions SET revoked = 1 WHERE realm_id = $1 AND user_id = $2 AND revoked = 0",
        )
        .bind(realm)
        .bind(user.as_str())
        .execute(&mut *db)
        .await?;
        sqlx::query(
            "UPDATE token_families SET revoked_at = COALESCE(revoked_at, \
                 (SELECT s.last_seen FROM user_sessions s \
                  WHERE s.realm_id = token_families.realm_id AND s.id = token_families.session_id)) \
             WHERE realm_id = $1 AND user_id = $2 AND session_id IS NOT NULL",
        )
        .bind(realm)
        .bind(user.as_str())
        .execute(db)
        .await?;
        Ok(())
    }
}
