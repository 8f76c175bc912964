//! End-to-end tests: the real server over real HTTP on loopback, on the store chosen by
//! `REALMGATE_TEST_STORE` (`cargo xtask test` runs this binary against SQLite and Postgres).
//! One binary; each module is one area; every test builds its own world.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod admin_credential_import;
mod bearer_reuse;
mod brute_force;
mod cli;
mod client_auth;
mod code_flow;
mod keys;
mod logout;
mod overload;
mod refresh_tokens;
mod shards;
mod sso_consent;
mod support;
