//! Repositories: `impl RealmTx` blocks, one file per aggregate. Every statement is a static string
//! whose first parameter is the transaction's realm id; joins between realm tables match on
//! `realm_id` too (a Citus rule, and what keeps a query on one shard).

#[macro_use]
mod columns;

pub(crate) mod clients;
pub(crate) mod codes;
pub(crate) mod consents;
pub(crate) mod failures;
pub(crate) mod groups;
pub(crate) mod keys;
pub(crate) mod orgs;
pub(crate) mod purge;
pub(crate) mod refresh;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod users;

use crate::StoreError;

/// `NotFound` when a statement that targets one row touched none.
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
