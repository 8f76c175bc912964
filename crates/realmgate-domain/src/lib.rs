//! `realmgate-domain` owns the vocabulary of Realmgate: identifiers, validated values (realm names,
//! usernames, redirect URIs, scope sets), the entities every other crate passes around (realms,
//! users, clients, roles, groups, organizations, sessions) and the [`Clock`] through which all time
//! enters the system. It performs no I/O and depends on no other Realmgate crate.

pub mod clock;
pub mod entities;
pub mod error;
pub mod ids;
pub mod settings;
pub mod values;

pub use clock::{Clock, Epoch, FixedClock, SystemClock};
pub use entities::*;
pub use error::DomainError;
pub use ids::*;
pub use settings::*;
pub use values::*;
