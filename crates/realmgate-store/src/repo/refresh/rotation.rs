//! The refresh grant's write: move a family to its next generation and read the user and session
//! the grant needs. On Postgres that is one statement, a HOT update of the family row by primary
//! key (no insert, no index entry, no foreign-key check); on SQLite the update and the read in
//! turn. A token from before generations (a `refresh_tokens` row) is rotated once more that way
//! and its family adopts the grant at generation 1.

use super::RefreshRotation;
use super::family::{family_cols, family_from_row};
use crate::repo::users::{session_from_prefixed_row, user_from_row};
use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{ClientUuid, Epoch, FamilyId, TokenFamily, User, UserSession};
use sqlx::any::AnyRow;

/// A rotation that happened: the family at its new generation, and its user and session as they
/// are now (`None` if absent). Nothing is checked beyond "the presented generation is current, not
/// expired, the family not revoked": the caller checks the rest and rolls back if the grant fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotated {
    pub family: TokenFamily,
    pub user: Option<User>,
    pub session: Option<UserSession>,
}

/// Why a presented refresh token was not rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such token or family.
    Unknown,
    /// The family, or the session it belongs to, is revoked.
    Revoked,
    /// The token is the current one but has expired.
    Expired,
    /// The token was rotated before: the caller revokes the family if `client` presented it.
    Reused {
        family: FamilyId,
        client: ClientUuid,
    },
}

/// The outcome of [`RealmTx::rotate_family`] and [`RealmTx::rotate_legacy_refresh`]. On
/// `Refused` the caller must not commit anything but a reuse's family revocation.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per refresh grant and matched at once; boxing would only add an allocation"
)]
pub enum Rotation {
    Rotated(Rotated),
    Refused(Refusal),
}

/// `idle_expires_at` of a generation issued at `$now`, living `$idle` seconds, never beyond the
/// family's end.
macro_rules! next_idle_expiry {
    ($now:literal, $idle:literal) => {
        concat!(
            "CASE WHEN ",
            $now,
            " + ",
            $idle,
            " < expires_at THEN ",
            $now,
            " + ",
            $idle,
            " ELSE expires_at END"
        )
    };
}
pub(crate) use next_idle_expiry;

/// The rotation itself: family `$2` of realm `$1` moves from generation `$3` to the next at `$4`,
/// the new generation living `$5` seconds, if `$3` is current, unexpired and not revoked.
/// Callers add conditions and `RETURNING`.
macro_rules! rotate_family_update {
    () => {
        concat!(
            "UPDATE token_families SET generation = generation + 1, issued_at = $4, \
             idle_expires_at = ",
            next_idle_expiry!("$4", "$5"),
            " WHERE realm_id = $1 AND id = $2 AND generation = $3 AND revoked_at IS NULL \
             AND idle_expires_at > $4 AND expires_at > $4"
        )
    };
}
pub(crate) use rotate_family_update;

/// After `WITH f AS (UPDATE .. RETURNING realm_id, family_cols!())`: the rotated family with its
/// user and session, read by [`rotated_from_row`].
macro_rules! select_rotated {
    () => {
        concat!(
            " SELECT f.*, u.id AS u_present, ",
            user_cols!(),
            ", ",
            session_cols_prefixed!(),
            " FROM f LEFT JOIN users u ON u.realm_id = f.realm_id AND u.id = f.f_user_id \
             LEFT JOIN user_sessions s ON s.realm_id = f.realm_id AND s.id = f.f_session_id"
        )
    };
}

/// A row of [`select_rotated`].
pub(crate) fn rotated_from_row(row: &AnyRow) -> Result<Rotated, StoreError> {
    let user = match row.opt_text("u_present")? {
        Some(_) => Some(user_from_row(row)?),
        None => None,
    };
    Ok(Rotated {
        family: family_from_row(row)?,
        user,
        session: session_from_prefixed_row(row)?,
    })
}

impl RealmTx {
    /// Rotates family `f` from `generation` to the next one at `now` (exactly one concurrent
    /// caller wins; the others see reuse), the new generation living `idle` seconds.
    pub async fn rotate_family(
        &mut self,
        f: &FamilyId,
        generation: i64,
        now: Epoch,
        idle: i64,
    ) -> Result<Rotation, StoreError> {
        // Postgres updates and reads the user and session in one statement; SQLite cannot join
        // a `RETURNING` and reads them in turn.
        let postgres = self.is_postgres();
        let sql = if postgres {
            concat!(
                "WITH f AS (",
                rotate_family_update!(),
                " RETURNING realm_id, ",
                family_cols!(),
                ")",
                select_rotated!()
            )
        } else {
            concat!(rotate_family_update!(), " RETURNING ", family_cols!())
        };
        let (realm, db) = self.parts();
        let row = sqlx::query(sql)
            .bind(realm)
            .bind(f.as_str())
            .bind(generation)
            .bind(now)
            .bind(idle)
            .fetch_optional(db)
            .await?;
        match row {
            Some(row) if postgres => Ok(Rotation::Rotated(rotated_from_row(&row)?)),
            Some(row) => {
                let family = family_from_row(&row)?;
                Ok(Rotation::Rotated(self.with_user_and_session(family).await?))
            }
            None => Ok(Rotation::Refused(self.why_not(f, generation).await?)),
        }
    }

    async fn with_user_and_session(&mut self, family: TokenFamily) -> Result<Rotated, StoreError> {
        let (user, session) = match self
            .user_with_session(&family.user_id, family.session_id.as_ref())
            .await?
        {
            Some((u, s)) => (Some(u), s),
            None => (None, None),
        };
        Ok(Rotated {
            family,
            user,
            session,
        })
    }

    /// Why family `f` was not rotated from `generation`.
    async fn why_not(&mut self, f: &FamilyId, generation: i64) -> Result<Refusal, StoreError> {
        let Some(status) = self.family_status(f).await? else {
            return Ok(Refusal::Unknown);
        };
        let current = status.family.generation;
        Ok(if !status.active {
            Refusal::Revoked
        } else if current == 0 || generation > current || generation < 1 {
            Refusal::Unknown
        } else if generation < current {
            Refusal::Reused {
                family: status.family.id,
                client: status.family.client,
            }
        } else {
            Refusal::Expired
        })
    }

    /// Rotates a token issued before generations (a `refresh_tokens` row, by hash): marks it
    /// rotated and moves its family to generation 1 carrying the token's grant, so its successor
    /// is a generation token. Presenting the old token again is reuse, as before.
    pub async fn rotate_legacy_refresh(
        &mut self,
        token_hash: &str,
        now: Epoch,
        idle: i64,
    ) -> Result<Rotation, StoreError> {
        let old = match self.rotate_refresh(token_hash, now).await? {
            RefreshRotation::Rotated(old) => old,
            RefreshRotation::Reused(t) => {
                return Ok(Rotation::Refused(Refusal::Reused {
                    family: t.family_id,
                    client: t.client,
                }));
            }
            RefreshRotation::Revoked(_) => return Ok(Rotation::Refused(Refusal::Revoked)),
            RefreshRotation::Unknown => return Ok(Rotation::Refused(Refusal::Unknown)),
        };
        if old.expires_at <= now {
            return Ok(Rotation::Refused(Refusal::Expired));
        }
        let amr = json(&old.amr)?;
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "UPDATE token_families SET generation = 1, scope = $3, auth_time = $4, amr = $5, \
             issued_at = $6, idle_expires_at = ",
            next_idle_expiry!("$6", "$7"),
            " WHERE realm_id = $1 AND id = $2 AND generation = 0 RETURNING ",
            family_cols!()
        ))
        .bind(realm)
        .bind(old.family_id.as_str())
        .bind(old.scope.as_str())
        .bind(old.auth_time)
        .bind(amr)
        .bind(now)
        .bind(idle)
        .fetch_optional(db)
        .await?;
        let Some(row) = row else {
            // Only a family of generation 0 can hold an unrotated legacy token.
            return Ok(Rotation::Refused(Refusal::Unknown));
        };
        let family = family_from_row(&row)?;
        self.with_user_and_session(family)
            .await
            .map(Rotation::Rotated)
    }
}
