//! Clients: create, read, list, partial update, delete; their secret (sealed at rest, opened only
//! for the admin API) and their service-account user, which follows `serviceAccountsEnabled`.

use super::{Page, RealmAdmin, non_empty};
use crate::AppError;
use crate::client_auth::service_account_username;
use crate::realms::REALM_MANAGEMENT;
use crate::tokens::{DEFAULT_SCOPES, OPTIONAL_SCOPES};
use realmgate_crypto::VerifyingKey;
use realmgate_domain::{
    Client, ClientAuthMethod, ClientUuid, RedirectUri, RoleId, User, UserId, Username,
};
use realmgate_store::{RealmTx, UserQuery};
use std::collections::BTreeMap;

/// Bytes of randomness in a generated client secret (32 base64url characters, like Keycloak's).
const SECRET_BYTES: usize = 24;
/// Clients scanned for a substring search (`?search=true`); realms rarely have more.
const SEARCH_SCAN: i64 = 10_000;

/// What a caller may set on a client (Keycloak's ClientRepresentation, mapped by the HTTP layer).
/// `None` leaves a field unchanged on update and takes Keycloak's default on create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInput {
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// `publicClient`: `true` means no client authentication (PKCE instead).
    pub public_client: Option<bool>,
    /// `clientAuthenticatorType`: `client-secret` or `client-jwt`.
    pub authenticator_type: Option<String>,
    pub secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub bearer_only: Option<bool>,
    pub consent_required: Option<bool>,
    pub standard_flow: Option<bool>,
    pub implicit_flow: Option<bool>,
    pub direct_access_grants: Option<bool>,
    pub service_accounts: Option<bool>,
    pub full_scope_allowed: Option<bool>,
    pub default_scopes: Option<Vec<String>>,
    pub optional_scopes: Option<Vec<String>>,
    pub protocol: Option<String>,
    /// Merged into the client's attributes; an empty value removes the key (as in Keycloak).
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A client with its opened secret (confidential `client-secret` clients only).
#[derive(Clone, PartialEq)]
pub struct ClientView {
    pub client: Client,
    pub secret: Option<String>,
}

impl std::fmt::Debug for ClientView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientView")
            .field("client", &self.client)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ClientInput {
    /// Applies the input to `c` and checks the result. Returns the plaintext secret to seal when
    /// the client needs a (new) one.
    fn apply(self, c: &mut Client) -> Result<Option<String>, AppError> {
        if let Some(p) = self
            .protocol
            .as_deref()
            .filter(|p| !p.is_empty() && *p != "openid-connect")
        {
            return Err(AppError::invalid(format!(
                "protocol '{p}' is not supported"
            )));
        }
        if self.implicit_flow == Some(true) {
            return Err(AppError::invalid(
                "implicitFlowEnabled is not supported (OAuth 2.0 Security BCP)",
            ));
        }
        if let Some(id) = self.client_id {
            c.client_id = valid_client_id(&id)?;
        }
        if let Some(v) = self.name {
            c.name = non_empty(Some(v));
        }
        if let Some(v) = self.description {
            c.description = non_empty(Some(v));
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
        }
        if let Some(attrs) = self.attributes {
            for (k, v) in attrs {
                if v.is_empty() {
                    c.attributes.remove(&k);
                } else {
                    c.attributes.insert(k, v);
                }
            }
        }
        let was = c.auth_method;
        c.auth_method = auth_method(
            c.auth_method,
            self.public_client,
            self.authenticator_type.as_deref(),
        )?;
        if let Some(uris) = self.redirect_uris {
            c.redirect_uris = valid_redirect_uris(uris, "redirectUris")?;
        }
        if let Some(uris) = self.post_logout_redirect_uris {
            c.post_logout_redirect_uris = if uris.iter().any(|u| u == "+") {
                c.redirect_uris.clone()
            } else {
                valid_redirect_uris(uris, "post.logout.redirect.uris")?
            };
        }
        if let Some(v) = self.web_origins {
            c.web_origins = dedup(v);
        }
        if let Some(v) = self.root_url {
            c.root_url = non_empty(Some(v));
        }
        if let Some(v) = self.base_url {
            c.base_url = non_empty(Some(v));
        }
        if let Some(v) = self.bearer_only {
            c.bearer_only = v;
        }
        if let Some(v) = self.consent_required {
            c.consent_required = v;
        }
        if let Some(v) = self.standard_flow {
            c.standard_flow = v;
        }
        if let Some(v) = self.direct_access_grants {
            c.direct_access_grants = v;
        }
        if let Some(v) = self.service_accounts {
            c.service_accounts = v;
        }
        if let Some(v) = self.full_scope_allowed {
            c.full_scope_allowed = v;
        }
        if let Some(v) = self.default_scopes {
            c.default_scopes = dedup(v);
        }
        if let Some(v) = self.optional_scopes {
            c.optional_scopes = dedup(v);
        }
        if c.service_accounts && c.auth_method == ClientAuthMethod::None {
            return Err(AppError::invalid(
                "serviceAccountsEnabled requires a confidential client",
            ));
        }
        if c.auth_method == ClientAuthMethod::PrivateKeyJwt {
            check_jwks(c)?;
        }
        // The secret: kept, replaced, generated, or dropped with the authentication method.
        let given = non_empty(self.secret);
        Ok(match c.auth_method {
            ClientAuthMethod::Secret => match given {
                Some(s) => Some(s),
                None if c.secret_sealed.is_none() || was != ClientAuthMethod::Secret => {
                    Some(realmgate_crypto::random_token(SECRET_BYTES))
                }
                None => None,
            },
            ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::None => {
                c.secret_sealed = None;
                None
            }
        })
    }
}

/// The authentication method from `publicClient` and `clientAuthenticatorType`; a public client
/// stays public until `publicClient: false` (its representation still names an authenticator).
fn auth_method(
    current: ClientAuthMethod,
    public: Option<bool>,
    authenticator: Option<&str>,
) -> Result<ClientAuthMethod, AppError> {
    let confidential = match authenticator.filter(|a| !a.is_empty()) {
        None => None,
        Some("client-secret") => Some(ClientAuthMethod::Secret),
        Some("client-jwt") => Some(ClientAuthMethod::PrivateKeyJwt),
        Some(other) => {
            return Err(AppError::invalid(format!(
                "clientAuthenticatorType '{other}' is not supported (use client-secret or client-jwt)"
            )));
        }
    };
    Ok(match (public, current) {
        (Some(true), _) => ClientAuthMethod::None,
        (Some(false), ClientAuthMethod::None) => confidential.unwrap_or(ClientAuthMethod::Secret),
        (None, ClientAuthMethod::None) => ClientAuthMethod::None,
        (_, current) => confidential.unwrap_or(current),
    })
}

/// A new client with Keycloak's defaults: enabled, confidential with a client secret, standard
/// flow on, full scope allowed, the realm's default and optional client scopes.
fn new_client(now: i64) -> Client {
    Client {
        id: ClientUuid::new(),
        client_id: String::new(),
        name: None,
        description: None,
        enabled: true,
        auth_method: ClientAuthMethod::Secret,
        secret_sealed: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        web_origins: vec![],
        root_url: None,
        base_url: None,
        bearer_only: false,
        consent_required: false,
        standard_flow: true,
        direct_access_grants: false,
        service_accounts: false,
        full_scope_allowed: true,
        optional_scopes: OPTIONAL_SCOPES.iter().map(|s| s.to_string()).collect(),
        default_scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        attributes: BTreeMap::new(),
        created_at: now,
    }
}

/// A clientId: 1–255 printable characters without spaces.
fn valid_client_id(id: &str) -> Result<String, AppError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 255 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid(
            "clientId must be 1-255 characters without spaces",
        ));
    }
    Ok(id.to_owned())
}

/// Exact, absolute redirect URIs without fragments or wildcards (OAuth 2.0 Security BCP §4.1).
fn valid_redirect_uris(uris: Vec<String>, field: &str) -> Result<Vec<String>, AppError> {
    let mut out = Vec::with_capacity(uris.len());
    for u in uris {
        let u = u.trim().to_owned();
        if u.is_empty() {
            continue;
        }
        if u.contains('*') {
            return Err(AppError::invalid(format!(
                "{field}: wildcards are not supported: {u}"
            )));
        }
        RedirectUri::parse(&u)
            .map_err(|e| AppError::invalid(format!("{field}: {}: {u}", e.reason)))?;
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for s in v
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
    {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// A `client-jwt` client's inline JWKS (`jwks.string`), when given, must hold usable keys.
fn check_jwks(c: &Client) -> Result<(), AppError> {
    let Some(doc) = c.attr("jwks.string") else {
        return Ok(());
    };
    let bad =
        || AppError::invalid("jwks.string must be a JWK Set with at least one usable public key");
    let v: serde_json::Value = serde_json::from_str(doc).map_err(|_| bad())?;
    let keys = v.get("keys").and_then(|k| k.as_array()).ok_or_else(bad)?;
    if keys.is_empty() || keys.iter().any(|k| VerifyingKey::from_jwk(k).is_err()) {
        return Err(bad());
    }
    Ok(())
}

/// The client's service-account user, found by its reserved username and checked by link.
async fn service_account_of(tx: &mut RealmTx, c: &Client) -> Result<Option<User>, AppError> {
    let by_name = tx
        .user_by_username(&service_account_username(&c.client_id))
        .await?;
    if let Some(u) = by_name.filter(|u| u.service_account_client.as_ref() == Some(&c.id)) {
        return Ok(Some(u));
    }
    // Renamed outside the admin API: fall back to the link.
    let q = UserQuery {
        username: Some("service-account-".to_owned()),
        include_service_accounts: true,
        ..UserQuery::default()
    };
    let all = tx.search_users(&q, 0, SEARCH_SCAN).await?;
    Ok(all
        .into_iter()
        .find(|u| u.service_account_client.as_ref() == Some(&c.id)))
}

impl RealmAdmin {
    pub(crate) fn view(&self, client: Client) -> Result<ClientView, AppError> {
        let secret = match client.auth_method {
            ClientAuthMethod::Secret => self.app().client_secret_of(self.id(), &client)?,
            _ => None,
        };
        Ok(ClientView { client, secret })
    }

    /// The client by its internal id (Keycloak's `id`), or `NotFound("client")`.
    pub(crate) async fn client_row(&self, tx: &mut RealmTx, id: &str) -> Result<Client, AppError> {
        let id = ClientUuid::parse(id).ok_or(AppError::NotFound("client"))?;
        tx.client_by_uuid(&id)
            .await?
            .ok_or(AppError::NotFound("client"))
    }

    /// `GET /clients?clientId=&search=&first=&max=`: without `search` the clientId matches
    /// exactly; with it, as a case-insensitive substring.
    pub async fn list_clients(
        &self,
        client_id: Option<String>,
        search: bool,
        page: Page,
    ) -> Result<Vec<ClientView>, AppError> {
        let client_id = non_empty(client_id);
        let mut tx = self.read().await?;
        let clients = match (client_id, search) {
            (Some(needle), true) => {
                let needle = needle.to_lowercase();
                tx.list_clients(None, 0, SEARCH_SCAN)
                    .await?
                    .into_iter()
                    .filter(|c| c.client_id.to_lowercase().contains(&needle))
                    .skip(usize::try_from(page.first).unwrap_or(0))
                    .take(usize::try_from(page.max).unwrap_or(0))
                    .collect()
            }
            (exact, _) => {
                tx.list_clients(exact.as_deref(), page.first, page.max)
                    .await?
            }
        };
        drop(tx);
        clients.into_iter().map(|c| self.view(c)).collect()
    }

    pub async fn get_client(&self, id: &str) -> Result<ClientView, AppError> {
        let mut tx = self.read().await?;
        let c = self.client_row(&mut tx, id).await?;
        drop(tx);
        self.view(c)
    }

    /// Creates a client (and its service-account user when enabled).
    pub async fn create_client(&self, input: ClientInput) -> Result<ClientView, AppError> {
        if input
            .client_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(AppError::invalid("clientId is required"));
        }
        let mut c = new_client(self.app().now());
        let secret = input.apply(&mut c)?;
        if let Some(s) = &secret {
            c.secret_sealed = Some(self.app().seal_client_secret(self.id(), s)?);
        }
        let mut tx = self.write().await?;
        tx.insert_client(&c).await?;
        if c.service_accounts {
            self.create_service_account(&mut tx, &c).await?;
        }
        tx.commit().await?;
        self.forget_client(&c.client_id).await;
        Ok(ClientView { client: c, secret })
    }

    /// Partial update (Keycloak's PUT changes the fields it carries).
    pub async fn update_client(
        &self,
        id: &str,
        input: ClientInput,
    ) -> Result<ClientView, AppError> {
        let mut tx = self.write().await?;
        let before = self.client_row(&mut tx, id).await?;
        let mut c = before.clone();
        if before.client_id == REALM_MANAGEMENT
            && input
                .client_id
                .as_deref()
                .is_some_and(|n| n != REALM_MANAGEMENT)
        {
            return Err(AppError::invalid(
                "the realm-management client cannot be renamed",
            ));
        }
        if let Some(s) = input.apply(&mut c)? {
            c.secret_sealed = Some(self.app().seal_client_secret(self.id(), &s)?);
        }
        tx.update_client(&c).await?;
        let account = service_account_of(&mut tx, &before).await?;
        match (c.service_accounts, account) {
            (true, None) => self.create_service_account(&mut tx, &c).await?,
            (true, Some(mut u)) if before.client_id != c.client_id => {
                u.username = service_account_username(&c.client_id);
                tx.update_user(&u).await?;
            }
            (false, Some(u)) => tx.delete_user(&u.id).await?,
            _ => {}
        }
        tx.commit().await?;
        self.forget_subjects().await;
        self.forget_client(&before.client_id).await;
        self.forget_client(&c.client_id).await;
        if before.client_id != c.client_id || before.service_accounts != c.service_accounts {
            // resource_access is keyed by clientId.
            self.forget_roles().await;
        }
        self.view(c)
    }

    /// Deletes the client with its roles, mappings, tokens and service-account user.
    pub async fn delete_client(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let c = self.client_row(&mut tx, id).await?;
        if c.client_id == REALM_MANAGEMENT {
            return Err(AppError::invalid(
                "the realm-management client cannot be deleted",
            ));
        }
        tx.delete_client(&c.id).await?;
        tx.commit().await?;
        self.forget_client(&c.client_id).await;
        self.forget_roles().await;
        self.forget_subjects().await;
        Ok(())
    }

    /// `GET /clients/{id}/client-secret`: the secret (absent for public and `client-jwt` clients).
    pub async fn client_secret(&self, id: &str) -> Result<Option<String>, AppError> {
        Ok(self.get_client(id).await?.secret)
    }

    /// `POST /clients/{id}/client-secret`: a fresh secret replaces the old one immediately.
    pub async fn regenerate_client_secret(&self, id: &str) -> Result<String, AppError> {
        let mut tx = self.write().await?;
        let mut c = self.client_row(&mut tx, id).await?;
        if c.auth_method != ClientAuthMethod::Secret {
            return Err(AppError::invalid(
                "only confidential clients using client-secret have a secret",
            ));
        }
        let secret = realmgate_crypto::random_token(SECRET_BYTES);
        c.secret_sealed = Some(self.app().seal_client_secret(self.id(), &secret)?);
        tx.update_client(&c).await?;
        tx.commit().await?;
        self.forget_client(&c.client_id).await;
        Ok(secret)
    }

    /// `GET /clients/{id}/service-account-user`.
    pub async fn service_account_user(&self, id: &str) -> Result<User, AppError> {
        let mut tx = self.read().await?;
        let c = self.client_row(&mut tx, id).await?;
        if !c.service_accounts {
            return Err(AppError::invalid(
                "service accounts are not enabled for this client",
            ));
        }
        service_account_of(&mut tx, &c)
            .await?
            .ok_or(AppError::NotFound("service account user"))
    }

    async fn create_service_account(&self, tx: &mut RealmTx, c: &Client) -> Result<(), AppError> {
        let username = Username::parse(&service_account_username(&c.client_id))?;
        let user = User {
            id: UserId::new(),
            username: username.as_str().to_owned(),
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            service_account_client: Some(c.id.clone()),
            created_at: self.app().now(),
        };
        tx.insert_user(&user).await?;
        if let Some(role) = self.default_role(tx).await? {
            tx.grant_user_role(&user.id, &role).await?;
        }
        Ok(())
    }

    /// The realm's `default-roles-{realm}` role, granted to every new user.
    pub(crate) async fn default_role(&self, tx: &mut RealmTx) -> Result<Option<RoleId>, AppError> {
        let name = crate::realms::default_role_name(self.realm_name());
        Ok(tx.role_by_name(None, &name).await?.map(|r| r.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(client_id: &str) -> ClientInput {
        ClientInput {
            client_id: Some(client_id.into()),
            ..ClientInput::default()
        }
    }

    #[test]
    fn confidential_by_default_with_a_generated_secret() {
        let mut c = new_client(0);
        let secret = input("app").apply(&mut c).ok().flatten();
        assert_eq!(c.auth_method, ClientAuthMethod::Secret);
        assert_eq!(secret.map(|s| s.len()), Some(32));
        assert!(c.standard_flow && c.full_scope_allowed && c.enabled);
        assert!(c.default_scopes.iter().any(|s| s == "profile"));
    }

    #[test]
    fn public_client_has_no_secret() {
        let mut c = new_client(0);
        c.secret_sealed = Some(vec![1, 2, 3]);
        let i = ClientInput {
            public_client: Some(true),
            ..input("spa")
        };
        assert_eq!(i.apply(&mut c).ok(), Some(None));
        assert_eq!(c.auth_method, ClientAuthMethod::None);
        assert_eq!(c.secret_sealed, None);
    }

    #[test]
    fn given_secret_is_kept_and_update_without_one_keeps_the_old() {
        let mut c = new_client(0);
        let i = ClientInput {
            secret: Some("s3cr3t".into()),
            ..input("app")
        };
        assert_eq!(i.apply(&mut c).ok(), Some(Some("s3cr3t".into())));
        c.secret_sealed = Some(vec![9]);
        let rename = ClientInput {
            name: Some("App".into()),
            ..ClientInput::default()
        };
        assert_eq!(rename.apply(&mut c).ok(), Some(None));
        assert_eq!(c.secret_sealed, Some(vec![9]));
    }

    #[test]
    fn turning_public_client_confidential_generates_a_secret() {
        let mut c = new_client(0);
        c.auth_method = ClientAuthMethod::None;
        let i = ClientInput {
            public_client: Some(false),
            ..ClientInput::default()
        };
        assert!(matches!(i.apply(&mut c), Ok(Some(_))));
        assert_eq!(c.auth_method, ClientAuthMethod::Secret);
    }

    #[test]
    fn client_jwt_selects_private_key_jwt_and_checks_keys() {
        let mut c = new_client(0);
        let mut attrs = BTreeMap::new();
        attrs.insert("use.jwks.string".to_owned(), "true".to_owned());
        attrs.insert(
            "jwks.string".to_owned(),
            "{\"keys\":[{\"kty\":\"nope\"}]}".to_owned(),
        );
        let i = ClientInput {
            authenticator_type: Some("client-jwt".into()),
            attributes: Some(attrs),
            ..input("svc")
        };
        assert!(matches!(i.apply(&mut c), Err(AppError::Invalid(_))));
        let mut c = new_client(0);
        let ok = ClientInput {
            authenticator_type: Some("client-jwt".into()),
            ..input("svc")
        };
        assert_eq!(ok.apply(&mut c).ok(), Some(None));
        assert_eq!(c.auth_method, ClientAuthMethod::PrivateKeyJwt);
    }

    #[test]
    fn unknown_authenticator_is_rejected() {
        let mut c = new_client(0);
        let i = ClientInput {
            authenticator_type: Some("client-x509".into()),
            ..input("x")
        };
        assert!(matches!(i.apply(&mut c), Err(AppError::Invalid(_))));
    }

    #[test]
    fn rfc6749_3_1_2_redirect_uris_are_exact_and_absolute() {
        let mut c = new_client(0);
        let ok = ClientInput {
            redirect_uris: Some(vec!["https://a.example/cb".into()]),
            ..input("a")
        };
        assert!(ok.apply(&mut c).is_ok());
        for bad in ["https://a.example/*", "/cb", "https://a.example/cb#f"] {
            let mut c = new_client(0);
            let i = ClientInput {
                redirect_uris: Some(vec![bad.into()]),
                ..input("a")
            };
            assert!(
                matches!(i.apply(&mut c), Err(AppError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn post_logout_plus_means_the_redirect_uris() {
        let mut c = new_client(0);
        let i = ClientInput {
            redirect_uris: Some(vec!["https://a.example/cb".into()]),
            post_logout_redirect_uris: Some(vec!["+".into()]),
            ..input("a")
        };
        assert!(i.apply(&mut c).is_ok());
        assert_eq!(
            c.post_logout_redirect_uris,
            vec!["https://a.example/cb".to_owned()]
        );
    }

    #[test]
    fn empty_attribute_value_removes_the_key() {
        let mut c = new_client(0);
        c.attributes.insert("a".into(), "1".into());
        c.attributes.insert("b".into(), "2".into());
        let mut attrs = BTreeMap::new();
        attrs.insert("a".to_owned(), String::new());
        attrs.insert("c".to_owned(), "3".to_owned());
        let i = ClientInput {
            attributes: Some(attrs),
            ..ClientInput::default()
        };
        assert!(i.apply(&mut c).is_ok());
        assert_eq!(c.attributes.get("a"), None);
        assert_eq!(c.attributes.get("b").map(String::as_str), Some("2"));
        assert_eq!(c.attributes.get("c").map(String::as_str), Some("3"));
    }

    #[test]
    fn service_accounts_need_a_confidential_client() {
        let mut c = new_client(0);
        let i = ClientInput {
            public_client: Some(true),
            service_accounts: Some(true),
            ..input("x")
        };
        assert!(matches!(i.apply(&mut c), Err(AppError::Invalid(_))));
    }
}
