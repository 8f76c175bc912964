//! Token families, refresh tokens and revoked access-token ids. A refresh token is a generation
//! of its family (`family.rs`, `rotation.rs`); the `refresh_tokens` rows here are tokens issued
//! before that, stored by hash and honoured until they expire.

use super::found;
use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{ClientUuid, Epoch, FamilyId, RefreshToken, SessionId, UserId};
use sqlx::any::AnyRow;

/// The outcome of [`RealmTx::rotate_refresh`]. Expiry is the caller's to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// This call rotated the token: the old row, with `rotated_at` set to `now`.
    Rotated(RefreshToken),
    /// The token had been rotated before: reuse — the caller revokes the family.
    Reused(RefreshToken),
    /// The token's family (or the session it belongs to) is revoked.
    Revoked(RefreshToken),
    Unknown,
}

macro_rules! refresh_cols {
    () => {
        "token_hash, family_id, client_uuid, user_id, session_id, scope, auth_time, amr, \
         issued_at, expires_at, rotated_at"
    };
}

/// Matches when the family of the `refresh_tokens` row in scope is revoked, directly or through
/// its session.
macro_rules! family_revoked {
    () => {
        "EXISTS (SELECT 1 FROM token_families f \
         LEFT JOIN user_sessions s ON s.realm_id = f.realm_id AND s.id = f.session_id \
         WHERE f.realm_id = refresh_tokens.realm_id AND f.id = refresh_tokens.family_id \
         AND (f.revoked_at IS NOT NULL OR s.revoked = 1))"
    };
}

mod at_once;
mod family;
mod rotation;
pub use at_once::RotateAtOnce;
pub use family::FamilyStatus;
pub use rotation::{Refusal, Rotated, Rotation};

fn refresh_from_row(row: &AnyRow) -> Result<RefreshToken, StoreError> {
    Ok(RefreshToken {
        token_hash: row.text("token_hash")?,
        family_id: FamilyId(row.text("family_id")?),
        client: ClientUuid(row.text("client_uuid")?),
        user_id: UserId(row.text("user_id")?),
        session_id: row.opt_text("session_id")?.map(SessionId),
        scope: row.text("scope")?,
        auth_time: row.int("auth_time")?,
        amr: row.json("amr")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        rotated_at: row.opt_int("rotated_at")?,
    })
}

impl RealmTx {
    /// The family exists, is not revoked, and its session (if any) is not revoked. Expiry is the
    /// caller's to check.
    pub async fn family_active(&mut self, f: &FamilyId) -> Result<bool, StoreError> {
        let (realm, db) = self.parts();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM token_families f \
             LEFT JOIN user_sessions s ON s.realm_id = f.realm_id AND s.id = f.session_id \
             WHERE f.realm_id = $1 AND f.id = $2 AND f.revoked_at IS NULL \
             AND (s.revoked IS NULL OR s.revoked = 0)",
        )
        .bind(realm)
        .bind(f.as_str())
        .fetch_one(db)
        .await?;
        Ok(n > 0)
    }

    /// Revokes the family (keeps the first `revoked_at`). `NotFound` if absent.
    pub async fn revoke_family(&mut self, f: &FamilyId, now: Epoch) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE token_families SET revoked_at = COALESCE(revoked_at, $3) \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(f.as_str())
        .bind(now)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Stores a refresh token the way tokens were issued before generations (by hash), as an
    /// import of such a token would. `NotFound` if the family is absent;
    /// `Conflict("refresh_tokens_hash")` on a duplicate hash.
    pub async fn insert_refresh(&mut self, t: &RefreshToken) -> Result<(), StoreError> {
        let amr = json(&t.amr)?;
        let (realm, db) = self.parts();
        sqlx::query(concat!(
            "INSERT INTO refresh_tokens (realm_id, ",
            refresh_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(realm)
        .bind(t.token_hash.as_str())
        .bind(t.family_id.as_str())
        .bind(t.client.as_str())
        .bind(t.user_id.as_str())
        .bind(t.session_id.as_ref().map(SessionId::as_str))
        .bind(t.scope.as_str())
        .bind(t.auth_time)
        .bind(amr)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.rotated_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Sets `rotated_at = now` atomically if the token was not rotated and its family is active;
    /// otherwise reports why not. Concurrent rotations of one token: exactly one wins.
    pub async fn rotate_refresh(
        &mut self,
        token_hash: &str,
        now: Epoch,
    ) -> Result<RefreshRotation, StoreError> {
        let (realm, db) = self.parts();
        let rotated = sqlx::query(concat!(
            "UPDATE refresh_tokens SET rotated_at = $3 \
             WHERE realm_id = $1 AND token_hash = $2 AND rotated_at IS NULL AND NOT ",
            family_revoked!(),
            " RETURNING ",
            refresh_cols!()
        ))
        .bind(realm)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *db)
        .await?;
        if let Some(row) = rotated {
            return Ok(RefreshRotation::Rotated(refresh_from_row(&row)?));
        }
        self.why_not_rotated(token_hash).await
    }

    /// Why the token with `token_hash` could not be rotated: unknown, its family is revoked, or
    /// it was rotated before (reuse).
    pub(crate) async fn why_not_rotated(
        &mut self,
        token_hash: &str,
    ) -> Result<RefreshRotation, StoreError> {
        let (realm, db) = self.parts();
        let current = sqlx::query(concat!(
            "SELECT ",
            refresh_cols!(),
            ", CASE WHEN ",
            family_revoked!(),
            " THEN 1 ELSE 0 END AS family_revoked \
             FROM refresh_tokens WHERE realm_id = $1 AND token_hash = $2"
        ))
        .bind(realm)
        .bind(token_hash)
        .fetch_optional(db)
        .await?;
        let Some(row) = current else {
            return Ok(RefreshRotation::Unknown);
        };
        let token = refresh_from_row(&row)?;
        if row.flag("family_revoked")? {
            Ok(RefreshRotation::Revoked(token))
        } else {
            Ok(RefreshRotation::Reused(token))
        }
    }

    pub async fn refresh_by_hash(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            refresh_cols!(),
            " FROM refresh_tokens WHERE realm_id = $1 AND token_hash = $2"
        ))
        .bind(realm)
        .bind(token_hash)
        .fetch_optional(db)
        .await?;
        row.as_ref().map(refresh_from_row).transpose()
    }

    /// Records a revoked access-token id until it expires (idempotent).
    pub async fn revoke_jti(&mut self, jti: &str, expires_at: Epoch) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO revoked_tokens (realm_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id, jti) DO NOTHING",
        )
        .bind(realm)
        .bind(jti)
        .bind(expires_at)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn jti_revoked(&mut self, jti: &str) -> Result<bool, StoreError> {
        let (realm, db) = self.parts();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM revoked_tokens WHERE realm_id = $1 AND jti = $2",
        )
        .bind(realm)
        .bind(jti)
        .fetch_one(db)
        .await?;
        Ok(n > 0)
    }
}
