//! `realmgate-app` holds Realmgate's use cases: resolving realms, authenticating users and
//! clients, the authorization and token flows, sessions, consent, introspection, revocation,
//! logout, signing-key management and the administration of realms, clients, users, roles, groups
//! and organizations. It composes the protocol engine (`realmgate-oidc`), the crypto primitives
//! and the store; it knows nothing of HTTP (that is `realmgate-http`) and issues no SQL itself.
//! Hot-path reads (realms, clients, keys, role claims) go through bounded caches (`ttl_cache`)
//! that are invalidated on every change made through this crate.

pub mod admin;
pub mod app;
pub mod authorize;
pub mod bootstrap;
pub mod brute_force;
pub mod cache;
pub mod cache_key;
pub mod client_auth;
pub mod error;
pub mod flow;
pub mod invalidation;
mod key_pool;
pub mod keys;
pub mod login;
pub mod logout;
pub mod realm_cache;
pub mod realms;
#[cfg(test)]
mod refresh_tests;
pub mod refresher;
pub mod roles;
pub mod subjects;
#[cfg(test)]
mod test_support;
pub mod token;
pub mod tokens;
pub mod ttl_cache;
pub mod userinfo;
pub mod verified;

pub use app::{App, AppConfig, RealmCtx};
pub use cache::Invalidation;
pub use error::AppError;
pub use realmgate_domain as domain;
pub use realmgate_oidc as oidc;
pub use realmgate_store::{Store, StoreError};
