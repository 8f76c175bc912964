//! Users and their password credential.

use super::found;
use crate::row::{RowExt, contains_pattern, exact_pattern, flag, json, page};
use crate::{RealmTx, StoreError};
use realmgate_domain::{
    ClientUuid, CredentialId, PasswordCredential, SessionId, User, UserId, UserSession,
};
use sqlx::any::AnyRow;

/// Filters for [`RealmTx::search_users`] / [`RealmTx::count_users`]; all given filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive substring of username, email, first or last name.
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The per-field filters match exactly (still case-insensitively) instead of as substrings.
    pub exact: bool,
    pub enabled: Option<bool>,
    /// Service-account users are left out unless this is set.
    pub include_service_accounts: bool,
}

/// The `s_`-prefixed session columns of a row that left-joined `user_sessions s` (see
/// `session_cols_prefixed!`); `None` when the join found no session.
pub(crate) fn session_from_prefixed_row(row: &AnyRow) -> Result<Option<UserSession>, StoreError> {
    let Some(sid) = row.opt_text("s_id")? else {
        return Ok(None);
    };
    Ok(Some(UserSession {
        id: SessionId(sid),
        user_id: UserId(row.text("s_user_id")?),
        auth_time: row.int("s_auth_time")?,
        last_seen: row.int("s_last_seen")?,
        expires_at: row.int("s_expires_at")?,
        amr: row.json("s_amr")?,
        revoked: row.flag("s_revoked")?,
    }))
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(row.text("id")?),
        username: row.text("username")?,
        email: row.opt_text("email")?,
        email_verified: row.flag("email_verified")?,
        first_name: row.opt_text("first_name")?,
        last_name: row.opt_text("last_name")?,
        enabled: row.flag("enabled")?,
        attributes: row.json("attributes")?,
        service_account_client: row.opt_text("service_account_client")?.map(ClientUuid),
        created_at: row.int("created_at")?,
    })
}

/// `$1` realm, `$2` search, `$3..$6` username/email/first/last patterns, `$7` enabled,
/// `$8` include service accounts.
macro_rules! user_filter {
    () => {
        " WHERE u.realm_id = $1 \
         AND ($2 IS NULL OR LOWER(u.username) LIKE $2 ESCAPE '\\' \
              OR LOWER(COALESCE(u.email, '')) LIKE $2 ESCAPE '\\' \
              OR LOWER(COALESCE(u.first_name, '')) LIKE $2 ESCAPE '\\' \
              OR LOWER(COALESCE(u.last_name, '')) LIKE $2 ESCAPE '\\') \
         AND ($3 IS NULL OR LOWER(u.username) LIKE $3 ESCAPE '\\') \
         AND ($4 IS NULL OR LOWER(COALESCE(u.email, '')) LIKE $4 ESCAPE '\\') \
         AND ($5 IS NULL OR LOWER(COALESCE(u.first_name, '')) LIKE $5 ESCAPE '\\') \
         AND ($6 IS NULL OR LOWER(COALESCE(u.last_name, '')) LIKE $6 ESCAPE '\\') \
         AND ($7 IS NULL OR u.enabled = $7) \
         AND ($8 = 1 OR u.service_account_client IS NULL)"
    };
}

/// The bind values of [`user_filter!`] after the realm id.
struct Filter {
    search: Option<String>,
    fields: [Option<String>; 4],
    enabled: Option<i64>,
    service_accounts: i64,
}

impl Filter {
    fn of(q: &UserQuery) -> Filter {
        let field = |v: &Option<String>| {
            v.as_deref().map(|s| {
                if q.exact {
                    exact_pattern(s)
                } else {
                    contains_pattern(s)
                }
            })
        };
        Filter {
            search: q.search.as_deref().map(contains_pattern),
            fields: [
                field(&q.username),
                field(&q.email),
                field(&q.first_name),
                field(&q.last_name),
            ],
            enabled: q.enabled.map(flag),
            service_accounts: flag(q.include_service_accounts),
        }
    }
}

const SEARCH_USERS: &str = concat!(
    "SELECT ",
    user_cols!(),
    " FROM users u",
    user_filter!(),
    " ORDER BY u.username LIMIT $9 OFFSET $10"
);
const COUNT_USERS: &str = concat!("SELECT COUNT(*) AS n FROM users u", user_filter!());

impl RealmTx {
    pub async fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO users (realm_id, id, username, email, email_verified, first_name, \
             last_name, enabled, attributes, service_account_client, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(realm)
        .bind(u.id.as_str())
        .bind(u.username.as_str())
        .bind(u.email.as_deref())
        .bind(flag(u.email_verified))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(json(&u.attributes)?)
        .bind(u.service_account_client.as_ref().map(ClientUuid::as_str))
        .bind(u.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn user_by_id(&mut self, id: &UserId) -> Result<Option<User>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users u WHERE u.realm_id = $1 AND u.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user and, when `session` is given, that session of the same realm, in one round trip
    /// (the refresh grant's read). The session is `None` when absent.
    pub async fn user_with_session(
        &mut self,
        id: &UserId,
        session: Option<&SessionId>,
    ) -> Result<Option<(User, Option<UserSession>)>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            ", ",
            session_cols_prefixed!(),
            " FROM users u LEFT JOIN user_sessions s \
             ON s.realm_id = u.realm_id AND s.id = $3 \
             WHERE u.realm_id = $1 AND u.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .bind(session.map(SessionId::as_str))
        .fetch_optional(db)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = user_from_row(&row)?;
        let session = session_from_prefixed_row(&row)?;
        Ok(Some((user, session)))
    }

    /// Exact match; usernames are stored lower-cased, so the caller lower-cases too.
    pub async fn user_by_username(&mut self, username: &str) -> Result<Option<User>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users u WHERE u.realm_id = $1 AND u.username = $2"
        ))
        .bind(realm)
        .bind(username)
        .fetch_optional(db)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Exact match on the stored (normalised) email.
    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM users u WHERE u.realm_id = $1 AND u.email = $2"
        ))
        .bind(realm)
        .bind(email)
        .fetch_optional(db)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// A page of matching users ordered by username.
    pub async fn search_users(
        &mut self,
        q: &UserQuery,
        first: i64,
        max: i64,
    ) -> Result<Vec<User>, StoreError> {
        let f = Filter::of(q);
        let (limit, offset) = page(first, max);
        let (realm, db) = self.parts();
        let [username, email, first_name, last_name] = f.fields;
        let rows = sqlx::query(SEARCH_USERS)
            .bind(realm)
            .bind(f.search)
            .bind(username)
            .bind(email)
            .bind(first_name)
            .bind(last_name)
            .bind(f.enabled)
            .bind(f.service_accounts)
            .bind(limit)
            .bind(offset)
            .fetch_all(db)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn count_users(&mut self, q: &UserQuery) -> Result<i64, StoreError> {
        let f = Filter::of(q);
        let (realm, db) = self.parts();
        let [username, email, first_name, last_name] = f.fields;
        let n = sqlx::query_scalar(COUNT_USERS)
            .bind(realm)
            .bind(f.search)
            .bind(username)
            .bind(email)
            .bind(first_name)
            .bind(last_name)
            .bind(f.enabled)
            .bind(f.service_accounts)
            .fetch_one(db)
            .await?;
        Ok(n)
    }

    /// Updates every field but `id` and `created_at`. `NotFound` if absent.
    pub async fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE users SET username = $3, email = $4, email_verified = $5, first_name = $6, \
             last_name = $7, enabled = $8, attributes = $9, service_account_client = $10 \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(u.id.as_str())
        .bind(u.username.as_str())
        .bind(u.email.as_deref())
        .bind(flag(u.email_verified))
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(flag(u.enabled))
        .bind(json(&u.attributes)?)
        .bind(u.service_account_client.as_ref().map(ClientUuid::as_str))
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Deletes the user; credentials, role mappings, group and organization memberships,
    /// sessions, codes, token families, refresh tokens and consents go with it (cascades), and so
    /// does its `user:{id}` brute-force record. `NotFound` if absent.
    pub async fn delete_user(&mut self, id: &UserId) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query("DELETE FROM login_failures WHERE realm_id = $1 AND subject = $2")
            .bind(realm)
            .bind(format!("user:{id}"))
            .execute(&mut *db)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE realm_id = $1 AND id = $2")
            .bind(realm)
            .bind(id.as_str())
            .execute(db)
            .await?;
        found(done.rows_affected())
    }

    /// Sets the user's password, replacing any previous one. `NotFound` if the user is absent.
    pub async fn set_password(&mut self, c: &PasswordCredential) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO credentials (realm_id, user_id, type, id, secret, created_at) \
             VALUES ($1, $2, 'password', $3, $4, $5) \
             ON CONFLICT (realm_id, user_id, type) DO UPDATE \
             SET id = excluded.id, secret = excluded.secret, created_at = excluded.created_at",
        )
        .bind(realm)
        .bind(c.user_id.as_str())
        .bind(c.id.as_str())
        .bind(c.hash.as_str())
        .bind(c.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn password_of(
        &mut self,
        user: &UserId,
    ) -> Result<Option<PasswordCredential>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(
            "SELECT id, user_id, secret, created_at FROM credentials \
             WHERE realm_id = $1 AND user_id = $2 AND type = 'password'",
        )
        .bind(realm)
        .bind(user.as_str())
        .fetch_optional(db)
        .await?;
        row.map(|row| {
            Ok(PasswordCredential {
                id: CredentialId(row.text("id")?),
                user_id: UserId(row.text("user_id")?),
                hash: row.text("secret")?,
                created_at: row.int("created_at")?,
            })
        })
        .transpose()
    }

    /// Removes the password if there is one (idempotent).
    pub async fn delete_password(&mut self, user: &UserId) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "DELETE FROM credentials WHERE realm_id = $1 AND user_id = $2 AND type = 'password'",
        )
        .bind(realm)
        .bind(user.as_str())
        .execute(db)
        .await?;
        Ok(())
    }
}
