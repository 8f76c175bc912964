//! Token families as refresh grants: create one, read it with its session's revocation, narrow
//! its scope. Rotation is in `rotation.rs`.

use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{ClientUuid, FamilyId, SessionId, TokenFamily, UserId};
use sqlx::any::AnyRow;

/// Every column of `token_families` a [`TokenFamily`] holds, unqualified and prefixed `f_` so
/// the list works in `RETURNING` and beside joined user columns.
macro_rules! family_cols {
    () => {
        "id AS f_id, client_uuid AS f_client_uuid, user_id AS f_user_id, \
         session_id AS f_session_id, scope AS f_scope, auth_time AS f_auth_time, amr AS f_amr, \
         generation AS f_generation, issued_at AS f_issued_at, \
         idle_expires_at AS f_idle_expires_at, expires_at AS f_expires_at, \
         revoked_at AS f_revoked_at"
    };
}
pub(crate) use family_cols;

pub(crate) fn family_from_row(row: &AnyRow) -> Result<TokenFamily, StoreError> {
    Ok(TokenFamily {
        id: FamilyId(row.text("f_id")?),
        client: ClientUuid(row.text("f_client_uuid")?),
        user_id: UserId(row.text("f_user_id")?),
        session_id: row.opt_text("f_session_id")?.map(SessionId),
        scope: row.text("f_scope")?,
        auth_time: row.int("f_auth_time")?,
        amr: row.json("f_amr")?,
        generation: row.int("f_generation")?,
        issued_at: row.int("f_issued_at")?,
        idle_expires_at: row.int("f_idle_expires_at")?,
        expires_at: row.int("f_expires_at")?,
        revoked_at: row.opt_int("f_revoked_at")?,
    })
}

/// A family as stored, and whether it is active: neither it nor its session is revoked. Expiry is
/// the caller's to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyStatus {
    pub family: TokenFamily,
    pub active: bool,
}

impl RealmTx {
    /// Starts a token family (one per grant). `NotFound` if the client, user or session is absent;
    /// `Conflict("token_families_id")` if the id is taken.
    pub async fn insert_family(&mut self, f: &TokenFamily) -> Result<(), StoreError> {
        let amr = json(&f.amr)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO token_families (realm_id, id, client_uuid, user_id, session_id, scope, \
             auth_time, amr, generation, issued_at, idle_expires_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(realm)
        .bind(f.id.as_str())
        .bind(f.client.as_str())
        .bind(f.user_id.as_str())
        .bind(f.session_id.as_ref().map(SessionId::as_str))
        .bind(f.scope.as_str())
        .bind(f.auth_time)
        .bind(amr)
        .bind(f.generation)
        .bind(f.issued_at)
        .bind(f.idle_expires_at)
        .bind(f.expires_at)
        .bind(f.revoked_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// The family with whether it is active (see [`FamilyStatus`]); `None` if absent.
    pub async fn family_status(
        &mut self,
        f: &FamilyId,
    ) -> Result<Option<FamilyStatus>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            family_cols!(),
            ", CASE WHEN revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM user_sessions s \
             WHERE s.realm_id = token_families.realm_id AND s.id = token_families.session_id \
             AND s.revoked = 1) THEN 1 ELSE 0 END AS f_active \
             FROM token_families WHERE realm_id = $1 AND id = $2"
        ))
        .bind(realm)
        .bind(f.as_str())
        .fetch_optional(db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(FamilyStatus {
            family: family_from_row(&row)?,
            active: row.flag("f_active")?,
        }))
    }

    /// Narrows the scope of a family (a refresh grant that asked for less). `NotFound` if absent.
    pub async fn set_family_scope(&mut self, f: &FamilyId, scope: &str) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        let done =
            sqlx::query("UPDATE token_families SET scope = $3 WHERE realm_id = $1 AND id = $2")
                .bind(realm)
                .bind(f.as_str())
                .bind(scope)
                .execute(db)
                .await?;
        crate::repo::found(done.rows_affected())
    }
}
