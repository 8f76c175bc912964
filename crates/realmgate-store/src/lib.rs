//! `realmgate-store` is the only crate of Realmgate that touches the database. It owns the schema
//! and its migrations (`migrations/postgres`, `migrations/sqlite` at the workspace root), the
//! [`Store`] (pool, backend detection, session setup), the two ways into the data — a
//! realm-scoped transaction ([`RealmTx`], whose every statement binds its realm and which on
//! Postgres also carries the `realmgate.realm_id` setting that row-level security checks) and the
//! named cross-realm [`SystemTx`] for the realm directory — and the repositories implemented on
//! them. One SQL text serves Postgres and SQLite through sqlx's Any driver, so the schema keeps to
//! portable types: TEXT ids, BIGINT epoch seconds, INTEGER 0/1 booleans, TEXT JSON, BLOB/BYTEA.
//! Nothing above this crate touches sqlx.

mod error;
mod notify;
mod pool;
mod realm_tx;
mod repo;
mod row;
mod schema;
mod system;
pub mod testing;

pub use realmgate_domain as domain;

pub use error::{CONFLICT_NAMES, StoreError};
pub use notify::{CHANNEL, Subscription};
pub use pool::{Backend, Store};
pub use realm_tx::RealmTx;
pub use repo::codes::CodeRedemption;
pub use repo::refresh::RefreshRotation;
pub use repo::users::UserQuery;
pub use schema::REALM_TABLES;
pub use system::SystemTx;
