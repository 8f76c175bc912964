//! One-time authorization codes, stored by hash, redeemed atomically.

use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{AuthCode, ClientUuid, Epoch, FamilyId, SessionId, UserId};
use sqlx::any::AnyRow;

/// The outcome of [`RealmTx::consume_code`]. Expiry is the caller's to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// This call consumed the code; `consumed_at` is the given `now`.
    First(AuthCode),
    /// The code had been consumed before (a replay): the caller revokes `family_id`.
    Replayed(AuthCode),
    Unknown,
}

macro_rules! code_cols {
    () => {
        "code_hash, client_uuid, user_id, session_id, redirect_uri, scope, nonce, \
         code_challenge, auth_time, amr, expires_at, family_id, consumed_at"
    };
}

fn code_from_row(row: &AnyRow) -> Result<AuthCode, StoreError> {
    Ok(AuthCode {
        code_hash: row.text("code_hash")?,
        client: ClientUuid(row.text("client_uuid")?),
        user_id: UserId(row.text("user_id")?),
        session_id: SessionId(row.text("session_id")?),
        redirect_uri: row.text("redirect_uri")?,
        scope: row.text("scope")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        auth_time: row.int("auth_time")?,
        amr: row.json("amr")?,
        expires_at: row.int("expires_at")?,
        family_id: FamilyId(row.text("family_id")?),
        consumed_at: row.opt_int("consumed_at")?,
    })
}

impl RealmTx {
    /// `NotFound` if the client, user or session is absent.
    pub async fn insert_code(&mut self, c: &AuthCode) -> Result<(), StoreError> {
        let amr = json(&c.amr)?;
        let (realm, db) = self.parts();
        sqlx::query(concat!(
            "INSERT INTO auth_codes (realm_id, ",
            code_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(realm)
        .bind(c.code_hash.as_str())
        .bind(c.client.as_str())
        .bind(c.user_id.as_str())
        .bind(c.session_id.as_str())
        .bind(c.redirect_uri.as_str())
        .bind(c.scope.as_str())
        .bind(c.nonce.as_deref())
        .bind(c.code_challenge.as_deref())
        .bind(c.auth_time)
        .bind(amr)
        .bind(c.expires_at)
        .bind(c.family_id.as_str())
        .bind(c.consumed_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Marks the code consumed if it was not (one atomic `UPDATE ... RETURNING`); otherwise tells
    /// a replay from an unknown code.
    pub async fn consume_code(
        &mut self,
        code_hash: &str,
        now: Epoch,
    ) -> Result<CodeRedemption, StoreError> {
        let (realm, db) = self.parts();
        let first = sqlx::query(concat!(
            "UPDATE auth_codes SET consumed_at = $3 \
             WHERE realm_id = $1 AND code_hash = $2 AND consumed_at IS NULL RETURNING ",
            code_cols!()
        ))
        .bind(realm)
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&mut *db)
        .await?;
        if let Some(row) = first {
            return Ok(CodeRedemption::First(code_from_row(&row)?));
        }
        let earlier = sqlx::query(concat!(
            "SELECT ",
            code_cols!(),
            " FROM auth_codes WHERE realm_id = $1 AND code_hash = $2"
        ))
        .bind(realm)
        .bind(code_hash)
        .fetch_optional(db)
        .await?;
        match earlier {
            Some(row) => Ok(CodeRedemption::Replayed(code_from_row(&row)?)),
            None => Ok(CodeRedemption::Unknown),
        }
    }
}
