//! Facts about the schema the Rust code relies on: the list of realm tables and how to purge one
//! realm from them. The tables themselves live in `migrations/{postgres,sqlite}/`.

use crate::StoreError;

/// Every realm-owned table, children before parents (the order
/// [`SystemTx::delete_realm`](crate::SystemTx::delete_realm) deletes in).
pub const REALM_TABLES: &[&str] = &[
    "refresh_tokens",
    "auth_codes",
    "token_families",
    "consents",
    "user_sessions",
    "org_members",
    "organizations",
    "user_groups",
    "group_roles",
    "groups",
    "user_roles",
    "role_composites",
    "credentials",
    "users",
    "roles",
    "clients",
    "signing_keys",
    "revoked_tokens",
    "login_failures",
    "realm_revisions",
];

/// One static `DELETE ... WHERE realm_id = $1` per realm table, children first: deleting a realm
/// is a constant number of statements and never relies on cascades across the directory.
pub(crate) const PURGE_REALM: &[&str] = &[
    "DELETE FROM refresh_tokens WHERE realm_id = $1",
    "DELETE FROM auth_codes WHERE realm_id = $1",
    "DELETE FROM token_families WHERE realm_id = $1",
    "DELETE FROM consents WHERE realm_id = $1",
    "DELETE FROM user_sessions WHERE realm_id = $1",
    "DELETE FROM org_members WHERE realm_id = $1",
    "DELETE FROM organizations WHERE realm_id = $1",
    "DELETE FROM user_groups WHERE realm_id = $1",
    "DELETE FROM group_roles WHERE realm_id = $1",
    "DELETE FROM groups WHERE realm_id = $1",
    "DELETE FROM user_roles WHERE realm_id = $1",
    "DELETE FROM role_composites WHERE realm_id = $1",
    "DELETE FROM credentials WHERE realm_id = $1",
    "DELETE FROM users WHERE realm_id = $1",
    "DELETE FROM roles WHERE realm_id = $1",
    "DELETE FROM clients WHERE realm_id = $1",
    "DELETE FROM signing_keys WHERE realm_id = $1",
    "DELETE FROM revoked_tokens WHERE realm_id = $1",
    "DELETE FROM login_failures WHERE realm_id = $1",
    "DELETE FROM realm_revisions WHERE realm_id = $1",
];

/// Accepts only a known realm table name (the caller inlines it into SQL).
pub(crate) fn realm_table(table: &'static str) -> Result<&'static str, StoreError> {
    if REALM_TABLES.contains(&table) {
        Ok(table)
    } else {
        Err(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_covers_every_realm_table_in_order() {
        assert_eq!(REALM_TABLES.len(), PURGE_REALM.len());
        for (table, stmt) in REALM_TABLES.iter().zip(PURGE_REALM) {
            assert_eq!(*stmt, format!("DELETE FROM {table} WHERE realm_id = $1"));
        }
    }

    #[test]
    fn shard_migration_is_the_same_on_both_backends() {
        let pg = include_str!("../../../migrations/postgres/0002_shards.sql");
        let sqlite = include_str!("../../../migrations/sqlite/0002_shards.sql");
        for stmt in [
            "ALTER TABLE realms ADD COLUMN shard TEXT NOT NULL DEFAULT 'default';",
            "ALTER TABLE realms ADD COLUMN moving_to TEXT;",
            "CREATE TABLE shards (",
            "CREATE TABLE realm_fences (\n    realm_id TEXT NOT NULL,",
            "CONSTRAINT realm_fences_pkey PRIMARY KEY (realm_id)",
        ] {
            assert!(pg.contains(stmt), "postgres lacks {stmt}");
            assert!(sqlite.contains(stmt), "sqlite lacks {stmt}");
        }
        assert!(pg.contains("ERRCODE = 'RG001'"));
    }

    #[test]
    fn migrations_create_every_realm_table_with_rls() {
        let pg = [
            include_str!("../../../migrations/postgres/0001_initial.sql"),
            include_str!("../../../migrations/postgres/0005_config_revisions.sql"),
        ]
        .concat();
        let sqlite = [
            include_str!("../../../migrations/sqlite/0001_initial.sql"),
            include_str!("../../../migrations/sqlite/0005_config_revisions.sql"),
        ]
        .concat();
        for table in REALM_TABLES {
            let create = format!("CREATE TABLE {table} (\n    realm_id TEXT NOT NULL,");
            assert!(pg.contains(&create), "postgres lacks {table}");
            assert!(sqlite.contains(&create), "sqlite lacks {table}");
            assert!(
                pg.contains(&format!("'{table}'"))
                    || pg.contains(&format!("CREATE POLICY {table}_realm_isolation ON {table}")),
                "no RLS policy for {table}"
            );
        }
    }
}
