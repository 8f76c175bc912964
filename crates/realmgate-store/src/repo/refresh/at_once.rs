//! The refresh grant's common case in one round trip (Postgres, see `one_trip.rs`): the rotation
//! of `rotation.rs` with every check the grant makes done by the statement itself — the client
//! that presents the token owns the family, the user is enabled, the session (if any) is live —
//! so that nothing is left to roll back and `BEGIN`, the statement and `COMMIT` travel together.
//! The session's `last_seen` is touched in the same statement when it is older than asked.
//!
//! When the statement rotates nothing (refused, raced, or not possible here) the caller runs the
//! transactional rotation, which finds out why and answers exactly as before.

use super::family::family_cols;
use super::rotation::{
    Rotated, next_idle_expiry, rotate_family_update, rotated_from_row, select_rotated,
};
use crate::one_trip::{Literal, OneTrip, ServerStatement};
use crate::{Store, StoreError};
use realmgate_domain::{ClientUuid, Epoch, FamilyId, RealmId};

/// `$1` realm, `$2` family, `$3` generation, `$4` now, `$5` idle seconds, `$6` the presenting
/// client, `$7` touch the session if `last_seen` is at or before this.
static ROTATE_AT_ONCE: ServerStatement = ServerStatement {
    name: "realmgate_rotate_family_v1",
    types: "text, text, bigint, bigint, bigint, text, bigint",
    sql: concat!(
        "WITH f AS (",
        rotate_family_update!(),
        " AND client_uuid = $6 \
         AND EXISTS (SELECT 1 FROM users u WHERE u.realm_id = $1 \
         AND u.id = token_families.user_id AND u.enabled <> 0) \
         AND (session_id IS NULL OR EXISTS (SELECT 1 FROM user_sessions s \
         WHERE s.realm_id = $1 AND s.id = token_families.session_id AND s.revoked = 0 \
         AND s.expires_at > $4)) RETURNING realm_id, ",
        family_cols!(),
        "), t AS (UPDATE user_sessions SET last_seen = $4 WHERE realm_id = $1 \
         AND id = (SELECT f_session_id FROM f) AND last_seen <= $7)",
        select_rotated!()
    ),
};

/// A refresh grant's rotation, for [`Store::rotate_family_at_once`].
#[derive(Debug, Clone, Copy)]
pub struct RotateAtOnce<'a> {
    pub family: &'a FamilyId,
    /// The generation presented.
    pub generation: i64,
    /// The client presenting the token.
    pub client: &'a ClientUuid,
    pub now: Epoch,
    /// Lifetime of the new generation, in seconds (never beyond the family's end).
    pub idle: i64,
    /// The session's `last_seen` is set to `now` if it is at or before this.
    pub touch_before: Epoch,
}

impl Store {
    /// Rotates `r.family` of `realm` from `r.generation` to the next one and commits, in one
    /// round trip, if every check of the refresh grant passes; `None` if nothing was rotated —
    /// refused for any reason, lost to a concurrent rotation, or not possible on this backend —
    /// and the caller must take the transactional path ([`crate::RealmTx::rotate_family`]).
    pub async fn rotate_family_at_once(
        &self,
        realm: &RealmId,
        r: &RotateAtOnce<'_>,
    ) -> Result<Option<Rotated>, StoreError> {
        let (Some(realm_lit), Some(family), Some(client)) = (
            Literal::uuid(realm.as_str()),
            Literal::uuid(r.family.as_str()),
            Literal::uuid(r.client.as_str()),
        ) else {
            return Ok(None);
        };
        let args = [
            realm_lit,
            family,
            Literal::Int(r.generation),
            Literal::Int(r.now),
            Literal::Int(r.idle),
            client,
            Literal::Int(r.touch_before),
        ];
        match self.realm_one_trip(realm, &ROTATE_AT_ONCE, &args).await? {
            OneTrip::Done(Some(row)) => rotated_from_row(&row).map(Some),
            OneTrip::Done(None) | OneTrip::NotHere => Ok(None),
        }
    }
}
