//! The refresh grant's write: rotate the presented token and store its successor, and read the
//! user and session the grant needs — one statement on Postgres (one round trip instead of
//! three), the same steps in turn on SQLite (where a statement is a function call and
//! data-modifying CTEs do not exist).

use super::{RefreshRotation, refresh_from_row};
use crate::repo::users::{session_from_prefixed_row, user_from_row};
use crate::row::RowExt;
use crate::{RealmTx, StoreError};
use realmgate_domain::{Epoch, RefreshToken, User, UserSession};

/// How the successor of a rotated token is made: a new hash, issued `now`, living `idle` seconds
/// but never beyond its session's expiry (or `now + max_lifespan` for a token without one). It
/// inherits everything else (family, client, user, session, scope, auth_time, amr).
#[derive(Debug, Clone, Copy)]
pub struct Successor<'a> {
    pub token_hash: &'a str,
    pub now: Epoch,
    pub idle: i64,
    pub max_lifespan: i64,
}

/// A rotation that happened: the old token (with `rotated_at` set), its stored successor, and the
/// token's user and session as they are now (`None` if absent). Nothing is checked beyond
/// "not rotated before, family and session not revoked": the caller checks the rest and rolls
/// back if the grant must fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotated {
    pub old: RefreshToken,
    pub successor: RefreshToken,
    pub user: Option<User>,
    pub session: Option<UserSession>,
}

/// The outcome of [`RealmTx::rotate_refresh_to`].
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per refresh grant and matched at once; boxing would only add an allocation"
)]
pub enum Rotation {
    Rotated(Rotated),
    /// The token was not rotated: why (never `RefreshRotation::Rotated`).
    Refused(RefreshRotation),
}

impl Successor<'_> {
    fn record(&self, old: &RefreshToken, session: Option<&UserSession>) -> RefreshToken {
        RefreshToken {
            token_hash: self.token_hash.to_owned(),
            family_id: old.family_id.clone(),
            client: old.client.clone(),
            user_id: old.user_id.clone(),
            session_id: old.session_id.clone(),
            scope: old.scope.clone(),
            auth_time: old.auth_time,
            amr: old.amr.clone(),
            issued_at: self.now,
            expires_at: realmgate_domain::settings::refresh_expiry(
                self.now,
                self.idle,
                self.max_lifespan,
                session.map(|s| s.expires_at),
            ),
            rotated_at: None,
        }
    }
}

impl RealmTx {
    /// Rotates the token with hash `token_hash` (exactly one concurrent caller wins) and stores
    /// `next` as its successor, in this transaction.
    pub async fn rotate_refresh_to(
        &mut self,
        token_hash: &str,
        next: Successor<'_>,
    ) -> Result<Rotation, StoreError> {
        if self.is_postgres() {
            return self.rotate_in_one_statement(token_hash, next).await;
        }
        let old = match self.rotate_refresh(token_hash, next.now).await? {
            RefreshRotation::Rotated(old) => old,
            other => return Ok(Rotation::Refused(other)),
        };
        let (user, session) = match self
            .user_with_session(&old.user_id, old.session_id.as_ref())
            .await?
        {
            Some((u, s)) => (Some(u), s),
            None => (None, None),
        };
        let successor = next.record(&old, session.as_ref());
        self.insert_refresh(&successor).await?;
        Ok(Rotation::Rotated(Rotated {
            old,
            successor,
            user,
            session,
        }))
    }

    async fn rotate_in_one_statement(
        &mut self,
        token_hash: &str,
        next: Successor<'_>,
    ) -> Result<Rotation, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "WITH old AS (UPDATE refresh_tokens SET rotated_at = $3 \
             WHERE realm_id = $1 AND token_hash = $2 AND rotated_at IS NULL AND NOT ",
            family_revoked!(),
            " RETURNING realm_id, ",
            refresh_cols!(),
            "), next AS (INSERT INTO refresh_tokens (realm_id, token_hash, family_id, \
             client_uuid, user_id, session_id, scope, auth_time, amr, issued_at, expires_at) \
             SELECT o.realm_id, $4, o.family_id, o.client_uuid, o.user_id, o.session_id, \
             o.scope, o.auth_time, o.amr, $3, LEAST($3 + $5, COALESCE(ns.expires_at, $3 + $6)) \
             FROM old o LEFT JOIN user_sessions ns \
             ON ns.realm_id = o.realm_id AND ns.id = o.session_id \
             RETURNING expires_at) \
             SELECT o.token_hash AS token_hash, o.family_id AS family_id, \
             o.client_uuid AS client_uuid, o.user_id AS user_id, o.session_id AS session_id, \
             o.scope AS scope, o.auth_time AS auth_time, o.amr AS amr, \
             o.issued_at AS issued_at, o.expires_at AS expires_at, o.rotated_at AS rotated_at, \
             (SELECT expires_at FROM next) AS next_expires_at, \
             u.id AS u_present, ",
            user_cols!(),
            ", ",
            session_cols_prefixed!(),
            " FROM old o LEFT JOIN users u ON u.realm_id = o.realm_id AND u.id = o.user_id \
             LEFT JOIN user_sessions s ON s.realm_id = o.realm_id AND s.id = o.session_id"
        ))
        .bind(realm)
        .bind(token_hash)
        .bind(next.now)
        .bind(next.token_hash)
        .bind(next.idle)
        .bind(next.max_lifespan)
        .fetch_optional(&mut *db)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Refused(self.why_not_rotated(token_hash).await?));
        };
        let old = refresh_from_row(&row)?;
        let user = match row.opt_text("u_present")? {
            Some(_) => Some(user_from_row(&row)?),
            None => None,
        };
        let session = session_from_prefixed_row(&row)?;
        let mut successor = next.record(&old, session.as_ref());
        // What was stored (the database computed it from the same inputs).
        successor.expires_at = row.int("next_expires_at")?;
        Ok(Rotation::Rotated(Rotated {
            old,
            successor,
            user,
            session,
        }))
    }
}
