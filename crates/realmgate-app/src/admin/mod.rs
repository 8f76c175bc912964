//! Administration use cases behind the Keycloak-compatible admin REST API: realms, clients,
//! users, roles and role mappings, groups, organizations and signing keys.
//!
//! Every use case needs a [`RealmAdmin`], a capability handle that [`App::realm_admin`] hands out
//! only after the caller's [`AdminPrincipal`] was checked against the realm; realm lifecycle
//! (list/create) checks the principal itself. Every change invalidates the caches the hot paths
//! read: the client cache entry on any client change, the role-claim cache on any role, mapping,
//! composite or group change.

pub mod auth;
pub mod clients;
pub mod groups;
pub mod keys;
pub mod orgs;
pub mod realms;
pub mod roles;
pub mod users;

#[cfg(test)]
mod scenario_tests;

pub use auth::AdminPrincipal;
pub use clients::{ClientInput, ClientView};
pub use groups::{GroupInput, GroupView};
pub use keys::{KeyInfo, parse_alg};
pub use orgs::{OrgInput, OrgMember};
pub use realms::RealmPatch;
pub use roles::{Holder, Mappings, RoleInput, RoleRef, RoleView};
pub use users::{ImportedPassword, NewUser, PasswordInput, UserFilter, UserInput};

use crate::{App, AppError, RealmCtx};
use realmgate_domain::RealmId;
use realmgate_store::RealmTx;
use std::sync::Arc;

/// Keycloak's default page size for list endpoints.
pub const DEFAULT_MAX: i64 = 100;
/// The largest page we hand out, whatever the caller asks for (`max=-1` included).
pub const MAX_PAGE: i64 = 1000;

/// A page request (`first`, `max` query parameters) with Keycloak's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub first: i64,
    pub max: i64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            first: 0,
            max: DEFAULT_MAX,
        }
    }
}

impl Page {
    /// Negative or missing `first` starts at 0; missing `max` is 100, negative `max` ("all") and
    /// anything larger are capped at [`MAX_PAGE`].
    pub fn new(first: Option<i64>, max: Option<i64>) -> Self {
        let first = first.unwrap_or(0).max(0);
        let max = match max {
            None => DEFAULT_MAX,
            Some(m) if m < 0 => MAX_PAGE,
            Some(m) => m.min(MAX_PAGE),
        };
        Self { first, max }
    }

    /// For listings Keycloak returns whole when `max` is absent (clients, roles, a user's
    /// groups): a missing `max` means as many as we hand out.
    pub fn all_by_default(first: Option<i64>, max: Option<i64>) -> Self {
        Self::new(first, Some(max.unwrap_or(-1)))
    }
}

/// Administration of one realm, handed out only to a principal allowed to manage it.
#[derive(Clone)]
pub struct RealmAdmin {
    app: App,
    ctx: Arc<RealmCtx>,
    principal: AdminPrincipal,
}

impl std::fmt::Debug for RealmAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealmAdmin")
            .field("realm", &self.ctx.name())
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The capability to administer `realm`: 403 when the principal may not manage it (checked
    /// before the realm is resolved, so realm names do not leak), 404 when it does not exist.
    pub async fn realm_admin(
        &self,
        principal: &AdminPrincipal,
        realm: &str,
    ) -> Result<RealmAdmin, AppError> {
        if !principal.can_manage(realm) {
            return Err(AppError::Forbidden);
        }
        let ctx = self.realm(realm).await?;
        Ok(RealmAdmin {
            app: self.clone(),
            ctx,
            principal: principal.clone(),
        })
    }
}

impl RealmAdmin {
    pub fn realm(&self) -> &RealmCtx {
        &self.ctx
    }
    pub fn realm_name(&self) -> &str {
        self.ctx.name()
    }
    pub fn principal(&self) -> &AdminPrincipal {
        &self.principal
    }
    pub(crate) fn app(&self) -> &App {
        &self.app
    }
    pub(crate) fn id(&self) -> &RealmId {
        self.ctx.id()
    }
    /// A write transaction in this realm.
    pub(crate) async fn write(&self) -> Result<RealmTx, AppError> {
        Ok(self.app.store().realm(self.id()).await?)
    }
    /// A read transaction in this realm.
    pub(crate) async fn read(&self) -> Result<RealmTx, AppError> {
        Ok(self.app.store().realm_read(self.id()).await?)
    }
    /// Drops the cached role claims of every user of the realm (after any role/mapping change).
    pub(crate) async fn forget_roles(&self) {
        self.app
            .invalidate(crate::Invalidation::Roles {
                realm: self.id().clone(),
            })
            .await;
    }
    /// Drops the realm's cached users and token states (after a user changed or was logged out).
    pub(crate) async fn forget_subjects(&self) {
        self.app.subjects_changed(self.id()).await;
    }
    /// Drops the cached client (after any change to it, including its roles' deletion).
    pub(crate) async fn forget_client(&self, client_id: &str) {
        self.app
            .invalidate(crate::Invalidation::Client {
                realm: self.id().clone(),
                client_id: client_id.to_owned(),
            })
            .await;
    }
}

/// Trims a string and turns an empty one into `None` (Keycloak clients send `""` for "unset").
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_caps() {
        assert_eq!(Page::new(None, None), Page { first: 0, max: 100 });
        assert_eq!(
            Page::new(Some(-3), Some(-1)),
            Page {
                first: 0,
                max: MAX_PAGE
            }
        );
        assert_eq!(
            Page::new(Some(20), Some(5_000_000)),
            Page {
                first: 20,
                max: MAX_PAGE
            }
        );
        assert_eq!(Page::new(Some(5), Some(0)), Page { first: 5, max: 0 });
        assert_eq!(
            Page::all_by_default(None, None),
            Page {
                first: 0,
                max: MAX_PAGE
            }
        );
        assert_eq!(
            Page::all_by_default(None, Some(7)),
            Page { first: 0, max: 7 }
        );
    }

    #[test]
    fn blank_strings_are_unset() {
        assert_eq!(non_empty(Some("  ".into())), None);
        assert_eq!(non_empty(Some(" a ".into())), Some("a".into()));
        assert_eq!(non_empty(None), None);
    }
}
