//! Users: search and count with Keycloak's query semantics, create (with password, default role
//! and groups), read, partial update, delete, password reset, logout, group membership.

use super::{Page, RealmAdmin, non_empty};
use crate::AppError;
use realmgate_domain::{
    Attributes, ClientUuid, CredentialId, Email, Group, PasswordCredential, User, UserId, Username,
};
use realmgate_store::{RealmTx, UserQuery};

/// Prefix Keycloak reserves for clients' service-account users.
const SERVICE_ACCOUNT_PREFIX: &str = "service-account-";

/// The user fields a caller may set; `None` leaves a field unchanged (create: Keycloak's default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInput {
    pub username: Option<String>,
    /// An empty string removes the email.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces all attributes.
    pub attributes: Option<Attributes>,
    /// A new password (`credentials: [{type: "password", value}]`).
    pub password: Option<PasswordInput>,
    /// An already hashed password to store as it is (Keycloak's credential import:
    /// `credentials: [{type: "password", secretData, credentialData}]`); wins over `password`.
    pub imported_password: Option<ImportedPassword>,
}

/// A password hash imported by an administrator: an argon2id PHC string
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), stored without hashing again. Logins verify against
/// it, and the first successful one rehashes it when its parameters differ from the server's.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedPassword {
    pub phc: String,
    /// Keycloak's "must change at next login". Accepted but not enforced yet.
    pub temporary: bool,
}

impl std::fmt::Debug for ImportedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedPassword")
            .field("temporary", &self.temporary)
            .finish_non_exhaustive()
    }
}

/// A password set by an administrator.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordInput {
    pub value: String,
    /// Keycloak's "must change at next login". Accepted but not enforced yet.
    pub temporary: bool,
}

impl std::fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordInput")
            .field("temporary", &self.temporary)
            .finish_non_exhaustive()
    }
}

/// A user to create: its fields plus the groups (by path, `/parent/child`) to join.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub user: UserInput,
    pub groups: Vec<String>,
}

/// `GET /users` and `/users/count` query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub search: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub exact: Option<bool>,
    pub enabled: Option<bool>,
}

impl UserFilter {
    /// Keycloak's rules: `search` (a substring of username, email, first or last name; `*`
    /// wildcards and quotes are accepted and dropped) wins over the per-field filters; per-field
    /// queries include service-account users, `search` and the bare listing do not.
    fn query(&self) -> UserQuery {
        if let Some(search) = non_empty(self.search.clone()) {
            let term = search.trim_matches(|c| c == '*' || c == '"').to_owned();
            return UserQuery {
                search: (!term.is_empty()).then_some(term),
                enabled: self.enabled,
                ..UserQuery::default()
            };
        }
        let username = non_empty(self.username.clone());
        let email = non_empty(self.email.clone());
        let first_name = non_empty(self.first_name.clone());
        let last_name = non_empty(self.last_name.clone());
        let fielded = username.is_some()
            || email.is_some()
            || first_name.is_some()
            || last_name.is_some()
            || self.enabled.is_some()
            || self.exact.is_some();
        UserQuery {
            search: None,
            username,
            email,
            first_name,
            last_name,
            exact: self.exact.unwrap_or(false),
            enabled: self.enabled,
            include_service_accounts: fielded,
        }
    }

    /// `search=id:<uuid>` looks a user up by id.
    fn id_lookup(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .and_then(|s| s.strip_prefix("id:"))
            .map(str::trim)
    }
}

/// Parses a username, refusing the prefix reserved for service accounts.
fn human_username(s: &str) -> Result<String, AppError> {
    let u = Username::parse(s)?;
    if u.as_str().starts_with(SERVICE_ACCOUNT_PREFIX) {
        return Err(AppError::invalid(format!(
            "usernames starting with '{SERVICE_ACCOUNT_PREFIX}' are reserved"
        )));
    }
    Ok(u.as_str().to_owned())
}

fn email(s: String) -> Result<Option<String>, AppError> {
    match non_empty(Some(s)) {
        None => Ok(None),
        Some(e) => Ok(Some(Email::parse(&e)?.as_str().to_owned())),
    }
}

fn check_password(p: &PasswordInput) -> Result<(), AppError> {
    if p.value.is_empty() {
        return Err(AppError::invalid("password: value is required"));
    }
    if p.value.len() > 1024 {
        return Err(AppError::invalid("password: at most 1024 bytes"));
    }
    Ok(())
}

/// An imported hash must be an argon2id PHC string the server can verify at a bounded cost.
fn check_imported_hash(phc: &str) -> Result<(), AppError> {
    match realmgate_crypto::check_argon2id_phc(phc) {
        Ok(_) => Ok(()),
        Err(realmgate_crypto::CryptoError::Hash(why)) => Err(AppError::invalid(format!(
            "credentials: secretData.value is not an accepted argon2id PHC string \
             ($argon2id$v=19$m=…,t=…,p=…$salt$hash): {why}"
        ))),
        Err(e) => Err(e.into()),
    }
}

impl UserInput {
    /// Applies every field except the password.
    fn apply(&mut self, u: &mut User) -> Result<(), AppError> {
        if let Some(name) = self.username.take() {
            let changed = Username::parse(&name)?.as_str() != u.username;
            if changed {
                if u.service_account_client.is_some() {
                    return Err(AppError::invalid(
                        "a service-account user cannot be renamed",
                    ));
                }
                u.username = human_username(&name)?;
            }
        }
        if let Some(e) = self.email.take() {
            u.email = email(e)?;
        }
        if let Some(v) = self.email_verified {
            u.email_verified = v;
        }
        if let Some(v) = self.first_name.take() {
            u.first_name = non_empty(Some(v));
        }
        if let Some(v) = self.last_name.take() {
            u.last_name = non_empty(Some(v));
        }
        if let Some(v) = self.enabled {
            u.enabled = v;
        }
        if let Some(a) = self.attributes.take() {
            u.attributes = a.into_iter().filter(|(k, _)| !k.is_empty()).collect();
        }
        Ok(())
    }
}

impl RealmAdmin {
    /// The user by id, or `NotFound("user")`.
    pub(crate) async fn user_row(&self, tx: &mut RealmTx, id: &str) -> Result<User, AppError> {
        let id = UserId::parse(id).ok_or(AppError::NotFound("user"))?;
        tx.user_by_id(&id).await?.ok_or(AppError::NotFound("user"))
    }

    pub async fn search_users(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> Result<Vec<User>, AppError> {
        let mut tx = self.read().await?;
        if let Some(id) = filter.id_lookup() {
            let found = match UserId::parse(id) {
                Some(id) => tx.user_by_id(&id).await?,
                None => None,
            };
            return Ok(found.into_iter().collect());
        }
        Ok(tx
            .search_users(&filter.query(), page.first, page.max)
            .await?)
    }

    pub async fn count_users(&self, filter: &UserFilter) -> Result<i64, AppError> {
        let mut tx = self.read().await?;
        if let Some(id) = filter.id_lookup() {
            let found = match UserId::parse(id) {
                Some(id) => tx.user_by_id(&id).await?,
                None => None,
            };
            return Ok(i64::from(found.is_some()));
        }
        Ok(tx.count_users(&filter.query()).await?)
    }

    pub async fn get_user(&self, id: &str) -> Result<User, AppError> {
        let mut tx = self.read().await?;
        self.user_row(&mut tx, id).await
    }

    /// Creates a user with the realm's default roles, an optional password and group memberships.
    pub async fn create_user(&self, new: NewUser) -> Result<User, AppError> {
        let NewUser {
            user: mut input,
            groups,
        } = new;
        let name = input
            .username
            .take()
            .ok_or_else(|| AppError::invalid("username is required"))?;
        let mut user = User {
            id: UserId::new(),
            username: human_username(&name)?,
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: Attributes::new(),
            service_account_client: None,
            created_at: self.app().now(),
        };
        let password = input.password.take();
        let imported = input.imported_password.take();
        input.apply(&mut user)?;
        // Hash before the write transaction: argon2id takes a while and must not hold locks.
        let credential = self.new_credential(&user.id, password, imported).await?;
        let mut tx = self.write().await?;
        let joined = self.groups_by_path(&mut tx, &groups).await?;
        tx.insert_user(&user).await?;
        if let Some(c) = &credential {
            tx.set_password(c).await?;
        }
        if let Some(role) = self.default_role(&mut tx).await? {
            tx.grant_user_role(&user.id, &role).await?;
        }
        for g in &joined {
            tx.add_user_to_group(&user.id, &g.id).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Partial update; disabling a user also ends its sessions.
    pub async fn update_user(&self, id: &str, mut input: UserInput) -> Result<User, AppError> {
        let password = input.password.take();
        let imported = input.imported_password.take();
        let credential = if password.is_some() || imported.is_some() {
            let uid = UserId::parse(id).ok_or(AppError::NotFound("user"))?;
            self.new_credential(&uid, password, imported).await?
        } else {
            None
        };
        let mut tx = self.write().await?;
        let mut user = self.user_row(&mut tx, id).await?;
        let was_enabled = user.enabled;
        input.apply(&mut user)?;
        tx.update_user(&user).await?;
        if let Some(c) = &credential {
            tx.set_password(c).await?;
        }
        if was_enabled && !user.enabled {
            tx.revoke_user_sessions(&user.id).await?;
        }
        tx.commit().await?;
        self.forget_subjects().await;
        if let Some(cid) = &user.service_account_client {
            // The client cache holds its service-account user.
            self.forget_service_account_client(cid).await?;
        }
        Ok(user)
    }

    /// Deletes a user with its credentials, mappings, memberships, sessions and tokens.
    pub async fn delete_user(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let user = self.user_row(&mut tx, id).await?;
        if user.service_account_client.is_some() {
            return Err(AppError::invalid(
                "a service-account user goes away with serviceAccountsEnabled=false on its client",
            ));
        }
        tx.delete_user(&user.id).await?;
        tx.commit().await?;
        self.forget_subjects().await;
        self.forget_roles().await;
        Ok(())
    }

    /// `PUT /users/{id}/reset-password`.
    pub async fn reset_password(&self, id: &str, password: PasswordInput) -> Result<(), AppError> {
        let uid = UserId::parse(id).ok_or(AppError::NotFound("user"))?;
        let credential = self.password_credential(&uid, password).await?;
        let mut tx = self.write().await?;
        let user = self.user_row(&mut tx, id).await?;
        if user.service_account_client.is_some() {
            return Err(AppError::invalid("a service-account user has no password"));
        }
        tx.set_password(&credential).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /users/{id}/logout`: ends every session of the user and revokes its tokens.
    pub async fn logout_user(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let user = self.user_row(&mut tx, id).await?;
        tx.revoke_user_sessions(&user.id).await?;
        tx.commit().await?;
        self.forget_subjects().await;
        Ok(())
    }

    /// `GET /users/{id}/groups`, optionally filtered by a substring of the group name.
    pub async fn user_groups(
        &self,
        id: &str,
        search: Option<String>,
        page: Page,
    ) -> Result<Vec<Group>, AppError> {
        let mut tx = self.read().await?;
        let user = self.user_row(&mut tx, id).await?;
        let needle = non_empty(search).map(|s| s.to_lowercase());
        Ok(tx
            .user_groups(&user.id)
            .await?
            .into_iter()
            .filter(|g| {
                needle
                    .as_deref()
                    .is_none_or(|n| g.name.to_lowercase().contains(n))
            })
            .skip(usize::try_from(page.first).unwrap_or(0))
            .take(usize::try_from(page.max).unwrap_or(0))
            .collect())
    }

    /// `PUT /users/{id}/groups/{groupId}` (idempotent).
    pub async fn join_group(&self, id: &str, group: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let user = self.user_row(&mut tx, id).await?;
        let group = self.group_row(&mut tx, group).await?;
        tx.add_user_to_group(&user.id, &group.id).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// `DELETE /users/{id}/groups/{groupId}`: 404 when the user is not a member (as Keycloak).
    pub async fn leave_group(&self, id: &str, group: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let user = self.user_row(&mut tx, id).await?;
        let group = self.group_row(&mut tx, group).await?;
        if !tx
            .user_groups(&user.id)
            .await?
            .iter()
            .any(|g| g.id == group.id)
        {
            return Err(AppError::NotFound("group membership"));
        }
        tx.remove_user_from_group(&user.id, &group.id).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// The credential to store for a new or updated user: an imported hash as it is (after
    /// checking it), else the password hashed in the bounded pool, else none.
    async fn new_credential(
        &self,
        user: &UserId,
        password: Option<PasswordInput>,
        imported: Option<ImportedPassword>,
    ) -> Result<Option<PasswordCredential>, AppError> {
        if let Some(i) = imported {
            return Ok(Some(self.imported_credential(user, i)?));
        }
        match password {
            Some(p) => Ok(Some(self.password_credential(user, p).await?)),
            None => Ok(None),
        }
    }

    fn imported_credential(
        &self,
        user: &UserId,
        i: ImportedPassword,
    ) -> Result<PasswordCredential, AppError> {
        check_imported_hash(&i.phc)?;
        Ok(PasswordCredential {
            id: CredentialId::new(),
            user_id: user.clone(),
            hash: i.phc,
            created_at: self.app().now(),
        })
    }

    async fn password_credential(
        &self,
        user: &UserId,
        p: PasswordInput,
    ) -> Result<PasswordCredential, AppError> {
        check_password(&p)?;
        let hash = self.app().hasher().hash(p.value).await?;
        Ok(PasswordCredential {
            id: CredentialId::new(),
            user_id: user.clone(),
            hash,
            created_at: self.app().now(),
        })
    }

    async fn groups_by_path(
        &self,
        tx: &mut RealmTx,
        paths: &[String],
    ) -> Result<Vec<Group>, AppError> {
        if paths.is_empty() {
            return Ok(vec![]);
        }
        let all = self.all_groups(tx).await?;
        paths
            .iter()
            .map(|p| {
                let p = if p.starts_with('/') {
                    p.clone()
                } else {
                    format!("/{p}")
                };
                all.iter()
                    .find(|g| g.path == p)
                    .cloned()
                    .ok_or_else(|| AppError::invalid(format!("group '{p}' not found")))
            })
            .collect()
    }

    async fn forget_service_account_client(&self, client: &ClientUuid) -> Result<(), AppError> {
        let mut tx = self.read().await?;
        if let Some(c) = tx.client_by_uuid(client).await? {
            drop(tx);
            self.forget_client(&c.client_id).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_wins_and_excludes_service_accounts() {
        let f = UserFilter {
            search: Some("*bob*".into()),
            username: Some("x".into()),
            ..UserFilter::default()
        };
        let q = f.query();
        assert_eq!(q.search.as_deref(), Some("bob"));
        assert_eq!(q.username, None);
        assert!(!q.include_service_accounts);
    }

    #[test]
    fn field_filters_include_service_accounts_and_honour_exact() {
        let f = UserFilter {
            username: Some("bob".into()),
            exact: Some(true),
            ..UserFilter::default()
        };
        let q = f.query();
        assert_eq!(q.username.as_deref(), Some("bob"));
        assert!(q.exact && q.include_service_accounts);
        assert!(!UserFilter::default().query().include_service_accounts);
    }

    #[test]
    fn id_search() {
        let f = UserFilter {
            search: Some("id:abc".into()),
            ..UserFilter::default()
        };
        assert_eq!(f.id_lookup(), Some("abc"));
        assert_eq!(UserFilter::default().id_lookup(), None);
    }

    #[test]
    fn service_account_prefix_is_reserved() {
        assert!(human_username("Service-Account-x").is_err());
        assert_eq!(human_username(" Bob ").ok().as_deref(), Some("bob"));
    }

    #[test]
    fn update_keeps_what_it_does_not_carry() {
        let mut u = User {
            id: UserId::new(),
            username: "bob".into(),
            email: Some("bob@example.org".into()),
            email_verified: true,
            first_name: Some("Bob".into()),
            last_name: Some("User".into()),
            enabled: true,
            attributes: Attributes::new(),
            service_account_client: None,
            created_at: 1,
        };
        let mut i = UserInput {
            first_name: Some("Robert".into()),
            email: Some("".into()),
            ..UserInput::default()
        };
        assert!(i.apply(&mut u).is_ok());
        assert_eq!(u.first_name.as_deref(), Some("Robert"));
        assert_eq!(u.last_name.as_deref(), Some("User"));
        assert_eq!(u.email, None);
        assert!(u.enabled && u.email_verified);
        let mut bad = UserInput {
            email: Some("nope".into()),
            ..UserInput::default()
        };
        assert!(matches!(bad.apply(&mut u), Err(AppError::Invalid(_))));
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = PasswordInput {
            value: "hunter2".into(),
            temporary: false,
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
