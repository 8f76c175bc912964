//! First start: the `master` realm with its `admin` role, the public `admin-cli` client
//! (password grant only) and a bootstrap administrator.

use crate::realms::{MASTER_ADMIN_ROLE, RealmInput};
use crate::tokens::{DEFAULT_SCOPES, OPTIONAL_SCOPES};
use crate::{App, AppError};
use realmgate_domain::{Client, ClientAuthMethod, ClientUuid, Role, RoleId, User, UserId};
use std::collections::BTreeMap;

pub const ADMIN_CLI: &str = "admin-cli";

/// What bootstrapping did.
#[derive(Debug)]
pub enum Bootstrap {
    AlreadyDone,
    /// Created; the password is `Some` when it was generated (print it once).
    Created {
        username: String,
        generated_password: Option<String>,
    },
}

impl App {
    pub async fn bootstrap(
        &self,
        admin_username: &str,
        admin_password: Option<String>,
    ) -> Result<Bootstrap, AppError> {
        if self
            .store()
            .system()
            .await?
            .realm_by_name("master")
            .await?
            .is_some()
        {
            return Ok(Bootstrap::AlreadyDone);
        }
        let realm = self
            .create_realm(RealmInput {
                name: Some("master".into()),
                display_name: Some("Realmgate".into()),
                ..RealmInput::default()
            })
            .await?;
        let now = self.now();
        let generated = admin_password.is_none();
        let password = admin_password.unwrap_or_else(|| realmgate_crypto::random_token(18));
        let hash = self.hasher().hash(password.clone()).await?;
        let admin_role = Role {
            id: RoleId::new(),
            name: MASTER_ADMIN_ROLE.into(),
            description: Some("${role_admin}".into()),
            client: None,
            attributes: BTreeMap::new(),
        };
        let user = User {
            id: UserId::new(),
            username: admin_username.to_lowercase(),
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            service_account_client: None,
            created_at: now,
        };
        let mut tx = self.store().realm(&realm.id).await?;
        tx.insert_role(&admin_role).await?;
        tx.insert_client(&public_client(ADMIN_CLI, now)).await?;
        tx.insert_user(&user).await?;
        tx.set_password(&realmgate_domain::PasswordCredential {
            id: realmgate_domain::CredentialId::new(),
            user_id: user.id.clone(),
            hash,
            created_at: now,
        })
        .await?;
        tx.grant_user_role(&user.id, &admin_role.id).await?;
        tx.commit().await?;
        Ok(Bootstrap::Created {
            username: user.username,
            generated_password: generated.then_some(password),
        })
    }
}

/// A public client allowed only the password grant, like Keycloak's `admin-cli`.
pub fn public_client(client_id: &str, now: i64) -> Client {
    Client {
        id: ClientUuid::new(),
        client_id: client_id.to_owned(),
        name: Some(format!("${{client_{client_id}}}")),
        description: None,
        enabled: true,
        auth_method: ClientAuthMethod::None,
        secret_sealed: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        web_origins: vec![],
        root_url: None,
        base_url: None,
        bearer_only: false,
        consent_required: false,
        standard_flow: false,
        direct_access_grants: true,
        service_accounts: false,
        full_scope_allowed: true,
        optional_scopes: OPTIONAL_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        default_scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        attributes: BTreeMap::new(),
        created_at: now,
    }
}
