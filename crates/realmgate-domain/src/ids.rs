//! Opaque identifiers. All are UUID strings (v7 for new rows, so they sort by creation time);
//! stored as TEXT so the same schema serves Postgres and SQLite.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh, time-ordered identifier.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Accepts only a canonical UUID (what we hand out), so ids from URLs are validated.
            pub fn parse(s: &str) -> Option<Self> {
                uuid::Uuid::parse_str(s).ok().map(|u| Self(u.to_string()))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// A realm (tenant). Also the `tenant_id` claim.
    RealmId);
id_type!(UserId);
id_type!(/// The internal id of a client (Keycloak's `id`), not its public `clientId`.
    ClientUuid);
id_type!(RoleId);
id_type!(GroupId);
id_type!(OrgId);
id_type!(/// An SSO (browser) session; the `sid` claim.
    SessionId);
id_type!(CredentialId);
id_type!(/// A refresh-token family: every token rotated from one grant shares it.
    FamilyId);
