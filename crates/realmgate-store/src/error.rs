//! The store's error type and the one place database errors are classified.

use sqlx::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist in this realm (also: a referenced row is missing, i.e. a foreign key
    /// failed — which is what a reference into another realm looks like).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the payload names the rule (see [`CONFLICT_NAMES`]).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("database error")]
    Db(#[source] sqlx::Error),
    /// A stored value could not be decoded into its domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A sharding problem, worded for the operator: an unknown or draining shard, a realm move
    /// that could not pause the realm in time or was interrupted.
    #[error("{0}")]
    Shard(String),
}

impl StoreError {
    /// A configuration problem (bad URL, missing test variable) reported through [`StoreError::Db`].
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        StoreError::Db(sqlx::Error::Configuration(msg.into().into()))
    }

    /// A [`StoreError::Shard`].
    pub(crate) fn shard(msg: impl Into<String>) -> Self {
        StoreError::Shard(msg.into())
    }
}

/// Every uniqueness rule of the schema: (Postgres constraint or index name, the column list SQLite
/// reports instead, the name handed out in [`StoreError::Conflict`]).
const CONSTRAINTS: &[(&str, &str, &str)] = &[
    ("realms_pkey", "realms.id", "realms_id"),
    ("realms_name", "realms.name", "realms_name"),
    ("clients_pkey", "clients.realm_id, clients.id", "clients_id"),
    (
        "clients_client_id",
        "clients.realm_id, clients.client_id",
        "clients_client_id",
    ),
    ("users_pkey", "users.realm_id, users.id", "users_id"),
    (
        "users_username",
        "users.realm_id, users.username",
        "users_username",
    ),
    ("users_email", "users.realm_id, users.email", "users_email"),
    (
        "users_service_account",
        "users.realm_id, users.service_account_client",
        "users_service_account",
    ),
    (
        "credentials_pkey",
        "credentials.realm_id, credentials.user_id, credentials.type",
        "credentials",
    ),
    ("roles_pkey", "roles.realm_id, roles.id", "roles_id"),
    (
        "roles_realm_name",
        "roles.realm_id, roles.name",
        "roles_realm_name",
    ),
    (
        "roles_client_name",
        "roles.realm_id, roles.client_uuid, roles.name",
        "roles_client_name",
    ),
    (
        "role_composites_pkey",
        "role_composites.realm_id, role_composites.parent_id, role_composites.child_id",
        "role_composites",
    ),
    (
        "user_roles_pkey",
        "user_roles.realm_id, user_roles.user_id, user_roles.role_id",
        "user_roles",
    ),
    ("groups_pkey", "groups.realm_id, groups.id", "groups_id"),
    ("groups_path", "groups.realm_id, groups.path", "groups_path"),
    (
        "group_roles_pkey",
        "group_roles.realm_id, group_roles.group_id, group_roles.role_id",
        "group_roles",
    ),
    (
        "user_groups_pkey",
        "user_groups.realm_id, user_groups.user_id, user_groups.group_id",
        "user_groups",
    ),
    (
        "organizations_pkey",
        "organizations.realm_id, organizations.id",
        "organizations_id",
    ),
    (
        "organizations_name",
        "organizations.realm_id, organizations.name",
        "organizations_name",
    ),
    (
        "organizations_alias",
        "organizations.realm_id, organizations.alias",
        "organizations_alias",
    ),
    (
        "org_members_pkey",
        "org_members.realm_id, org_members.org_id, org_members.user_id",
        "org_members",
    ),
    (
        "signing_keys_pkey",
        "signing_keys.realm_id, signing_keys.kid",
        "signing_keys_kid",
    ),
    (
        "user_sessions_pkey",
        "user_sessions.realm_id, user_sessions.id",
        "user_sessions_id",
    ),
    (
        "auth_codes_pkey",
        "auth_codes.realm_id, auth_codes.code_hash",
        "auth_codes_hash",
    ),
    (
        "token_families_pkey",
        "token_families.realm_id, token_families.id",
        "token_families_id",
    ),
    (
        "refresh_tokens_pkey",
        "refresh_tokens.realm_id, refresh_tokens.token_hash",
        "refresh_tokens_hash",
    ),
    (
        "revoked_tokens_pkey",
        "revoked_tokens.realm_id, revoked_tokens.jti",
        "revoked_tokens",
    ),
    (
        "consents_pkey",
        "consents.realm_id, consents.user_id, consents.client_uuid",
        "consents",
    ),
    (
        "login_failures_pkey",
        "login_failures.realm_id, login_failures.subject",
        "login_failures",
    ),
];

/// Every name [`StoreError::Conflict`] can carry, plus `"unique"` for a rule this table misses.
pub const CONFLICT_NAMES: &[&str] = &[
    "realms_id",
    "realms_name",
    "clients_id",
    "clients_client_id",
    "users_id",
    "users_username",
    "users_email",
    "users_service_account",
    "credentials",
    "roles_id",
    "roles_realm_name",
    "roles_client_name",
    "role_composites",
    "user_roles",
    "groups_id",
    "groups_path",
    "group_roles",
    "user_groups",
    "organizations_id",
    "organizations_name",
    "organizations_alias",
    "org_members",
    "signing_keys_kid",
    "user_sessions_id",
    "auth_codes_hash",
    "token_families_id",
    "refresh_tokens_hash",
    "revoked_tokens",
    "consents",
    "login_failures",
    "unique",
];

/// Names the violated uniqueness rule: by constraint/index name (Postgres) or by the column list
/// SQLite puts in its message (`UNIQUE constraint failed: users.realm_id, users.username`) —
/// SQLite never reports constraint names for UNIQUE, so its column list is the only identity.
fn conflict_name(constraint: Option<&str>, message: &str) -> &'static str {
    let by_name = constraint.and_then(|name| CONSTRAINTS.iter().find(|(pg, _, _)| *pg == name));
    if let Some((_, _, public)) = by_name {
        return public;
    }
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .map(str::trim);
    let by_columns = columns.and_then(|cols| CONSTRAINTS.iter().find(|(_, sq, _)| *sq == cols));
    if let Some((_, _, public)) = by_columns {
        return public;
    }
    tracing::warn!(?constraint, message, "unmapped uniqueness violation");
    "unique"
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict(conflict_name(db.constraint(), db.message()))
                }
                ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                _ => StoreError::Db(e),
            },
            _ => StoreError::Db(e),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => StoreError::from(inner),
            other => StoreError::Db(sqlx::Error::Migrate(Box::new(other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_name_is_listed() {
        for (_, _, public) in CONSTRAINTS {
            assert!(CONFLICT_NAMES.contains(public), "{public}");
        }
    }

    #[test]
    fn sqlite_messages_map_by_columns() {
        let msg = "UNIQUE constraint failed: users.realm_id, users.username";
        assert_eq!(conflict_name(None, msg), "users_username");
        assert_eq!(
            conflict_name(Some("realms_name"), "whatever"),
            "realms_name"
        );
        assert_eq!(conflict_name(None, "something else"), "unique");
    }
}
