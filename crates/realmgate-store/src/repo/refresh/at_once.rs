//! The refresh grant's common case in one round trip (Postgres, see `one_trip.rs`): the rotation
//! of `rotation.rs` with the grant's checks made by the update itself — the client presenting the
//! token owns the family, the user exists and is enabled, the session (if any) exists, is not
//! revoked and has not ended — so that nothing is ever left to roll back and `BEGIN`, the
//! statement and `COMMIT` can travel together. It returns the family alone: the caller takes the
//! user from its cache and writes the session's `last_seen` on its own schedule. The statement is
//! kept small on purpose: most of its cost in Postgres is executor start-up, which grows with
//! every joined table and returned column.
//!
//! When it rotates nothing (refused, raced, or not possible here) the caller runs the
//! transactional rotation, which finds out why and answers exactly as before.

use super::family::{family_cols, family_from_row};
use super::rotation::{next_idle_expiry, rotate_family_update};
use crate::one_trip::{Literal, OneTrip, ServerStatement};
use crate::{Store, StoreError};
use realmgate_domain::{ClientUuid, Epoch, FamilyId, RealmId, TokenFamily};

/// `$1` realm, `$2` family, `$3` generation, `$4` now, `$5` idle seconds, `$6` the presenting
/// client.
static ROTATE_AT_ONCE: ServerStatement = ServerStatement {
    name: "realmgate_rotate_family_v1",
    types: "text, text, bigint, bigint, bigint, text",
    sql: concat!(
        rotate_family_update!(),
        " AND client_uuid = $6 \
         AND EXISTS (SELECT 1 FROM users u WHERE u.realm_id = $1 \
         AND u.id = token_families.user_id AND u.enabled <> 0) \
         AND (session_id IS NULL OR EXISTS (SELECT 1 FROM user_sessions s \
         WHERE s.realm_id = $1 AND s.id = token_families.session_id AND s.revoked = 0 \
         AND s.expires_at > $4)) RETURNING ",
        family_cols!()
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
}

impl Store {
    /// Rotates `r.family` of `realm` from `r.generation` to the next one and commits, in one
    /// round trip, if every check of the refresh grant passes, returning the family at its new
    /// generation; `None` if nothing was rotated — refused for any reason, lost to a concurrent
    /// rotation, or not possible on this backend — and the caller must take the transactional
    /// path ([`crate::RealmTx::rotate_family`]).
    pub async fn rotate_family_at_once(
        &self,
        realm: &RealmId,
        r: &RotateAtOnce<'_>,
    ) -> Result<Option<TokenFamily>, StoreError> {
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
        ];
        match self.realm_one_trip(realm, &ROTATE_AT_ONCE, &args).await? {
            OneTrip::Done(Some(row)) => family_from_row(&row).map(Some),
            OneTrip::Done(None) | OneTrip::NotHere => Ok(None),
        }
    }
}
