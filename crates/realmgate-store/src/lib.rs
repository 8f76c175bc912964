//! `realmgate-store` is the only crate of Realmgate that touches the database. It owns the schema
//! and its migrations (`migrations/postgres`, `migrations/sqlite` at the workspace root), the
//! [`Store`] and the two ways into the data — a realm-scoped transaction ([`RealmTx`], whose every
//! statement binds its realm and which on Postgres also carries the `realmgate.realm_id` setting
//! that row-level security checks) and the named cross-realm [`SystemTx`] for the realm directory
//! — and the repositories implemented on them. One SQL text serves Postgres and SQLite through
//! sqlx's Any driver, so the schema keeps to portable types: TEXT ids, BIGINT epoch seconds,
//! INTEGER 0/1 booleans, TEXT JSON, BLOB/BYTEA. Nothing above this crate touches sqlx.
//!
//! A store is one or more shards (ADR 0005): each shard is a database with the whole schema and
//! a realm lives wholly on one of them. The `default` shard (`database.url`) also hosts the
//! directory (realm → shard, realm name → realm, the registered shards). [`Store`] routes each
//! realm transaction to its realm's shard (a route cache, corrected by fences a move leaves on the
//! old shard), places new realms by weight, and moves realms between shards with a short,
//! bounded pause ([`Store::move_realm`]). A single shard — always the case for SQLite — is
//! exactly the unsharded store: no directory lookup, no fence.

mod error;
mod notify;
mod one_trip;
mod placement;
mod pool;
mod realm_tx;
mod repo;
mod revisions;
mod router;
mod row;
mod schema;
mod shard;
mod shard_move;
mod system;
pub mod testing;
mod trip_pool;

pub use realmgate_domain as domain;

pub use error::{CONFLICT_NAMES, StoreError};
pub use notify::{CHANNEL, Subscription};
pub use placement::{ShardAdded, ShardInfo};
pub use pool::{Store, valid_shard_name};
pub use realm_tx::{RealmRevision, RealmTx};
pub use repo::codes::CodeRedemption;
pub use repo::refresh::{FamilyStatus, RefreshRotation, Refusal, RotateAtOnce, Rotated, Rotation};
pub use repo::users::UserQuery;
pub use schema::REALM_TABLES;
pub use shard::{Backend, DEFAULT_SHARD, ShardSpec};
pub use shard_move::{MoveOptions, MoveOutcome, MoveReport, MoveStep};
pub use system::SystemTx;
