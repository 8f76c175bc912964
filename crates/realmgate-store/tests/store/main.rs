//! Integration tests of realmgate-store, on the backend chosen by `REALMGATE_TEST_STORE`
//! (`sqlite` by default, or `postgres` with `REALMGATE_TEST_DATABASE_URL`). One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod at_once;

mod conflicts;
mod entities;
mod isolation;
mod lifecycle;
mod revisions;
mod rls;
mod roles;
mod search;
mod shards;
mod tokens;
