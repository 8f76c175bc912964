//! `/admin/realms/{realm}/clients/...`: ClientRepresentation in and out, the client secret
//! (CredentialRepresentation `{type: "secret", value}`) and the service-account user.

use super::extract::{Admin, Body, Params, Segments};
use super::problem::Problem;
use super::users::UserOut;
use super::{access, created, location};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use realmgate_app::App;
use realmgate_app::admin::{ClientInput, ClientView, Page};
use realmgate_app::domain::ClientAuthMethod;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Keycloak keeps post-logout redirect URIs in this attribute, `##`-separated.
const POST_LOGOUT_ATTR: &str = "post.logout.redirect.uris";

/// ClientRepresentation as clients send it; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientRep {
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    pub client_authenticator_type: Option<String>,
    pub secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub root_url: Option<String>,
    pub base_url: Option<String>,
    pub bearer_only: Option<bool>,
    pub consent_required: Option<bool>,
    pub standard_flow_enabled: Option<bool>,
    pub implicit_flow_enabled: Option<bool>,
    pub direct_access_grants_enabled: Option<bool>,
    pub service_accounts_enabled: Option<bool>,
    pub full_scope_allowed: Option<bool>,
    pub default_client_scopes: Option<Vec<String>>,
    pub optional_client_scopes: Option<Vec<String>>,
    pub protocol: Option<String>,
    /// Keycloak attribute values are strings; booleans and numbers are accepted and stringified.
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
}

fn attr_string(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

impl From<ClientRep> for ClientInput {
    fn from(r: ClientRep) -> Self {
        let mut attributes: Option<BTreeMap<String, String>> = r
            .attributes
            .map(|a| a.into_iter().map(|(k, v)| (k, attr_string(v))).collect());
        let post_logout = attributes
            .as_mut()
            .and_then(|a| a.remove(POST_LOGOUT_ATTR))
            .map(|v| {
                v.split("##")
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        ClientInput {
            client_id: r.client_id,
            name: r.name,
            description: r.description,
            enabled: r.enabled,
            public_client: r.public_client,
            authenticator_type: r.client_authenticator_type,
            secret: r.secret,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: post_logout,
            web_origins: r.web_origins,
            root_url: r.root_url,
            base_url: r.base_url,
            bearer_only: r.bearer_only,
            consent_required: r.consent_required,
            standard_flow: r.standard_flow_enabled,
            implicit_flow: r.implicit_flow_enabled,
            direct_access_grants: r.direct_access_grants_enabled,
            service_accounts: r.service_accounts_enabled,
            full_scope_allowed: r.full_scope_allowed,
            default_scopes: r.default_client_scopes,
            optional_scopes: r.optional_client_scopes,
            protocol: r.protocol,
            attributes,
        }
    }
}

/// ClientRepresentation as we return it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClientOut {
    pub id: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub surrogate_auth_required: bool,
    pub enabled: bool,
    pub always_display_in_console: bool,
    pub client_authenticator_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub not_before: i64,
    pub bearer_only: bool,
    pub consent_required: bool,
    pub standard_flow_enabled: bool,
    pub implicit_flow_enabled: bool,
    pub direct_access_grants_enabled: bool,
    pub service_accounts_enabled: bool,
    pub public_client: bool,
    pub frontchannel_logout: bool,
    pub protocol: &'static str,
    pub attributes: BTreeMap<String, String>,
    pub authentication_flow_binding_overrides: BTreeMap<String, String>,
    pub full_scope_allowed: bool,
    pub node_re_registration_timeout: i64,
    pub default_client_scopes: Vec<String>,
    pub optional_client_scopes: Vec<String>,
    pub access: BTreeMap<&'static str, bool>,
}

impl From<ClientView> for ClientOut {
    fn from(v: ClientView) -> Self {
        let c = v.client;
        let mut attributes = c.attributes;
        if !c.post_logout_redirect_uris.is_empty() {
            attributes.insert(
                POST_LOGOUT_ATTR.to_owned(),
                c.post_logout_redirect_uris.join("##"),
            );
        }
        Self {
            id: c.id.0,
            client_id: c.client_id,
            name: c.name,
            description: c.description,
            root_url: c.root_url,
            base_url: c.base_url,
            surrogate_auth_required: false,
            enabled: c.enabled,
            always_display_in_console: false,
            client_authenticator_type: match c.auth_method {
                ClientAuthMethod::PrivateKeyJwt => "client-jwt",
                ClientAuthMethod::Secret | ClientAuthMethod::None => "client-secret",
            },
            secret: v.secret,
            redirect_uris: c.redirect_uris,
            web_origins: c.web_origins,
            not_before: 0,
            bearer_only: c.bearer_only,
            consent_required: c.consent_required,
            standard_flow_enabled: c.standard_flow,
            implicit_flow_enabled: false,
            direct_access_grants_enabled: c.direct_access_grants,
            service_accounts_enabled: c.service_accounts,
            public_client: c.auth_method == ClientAuthMethod::None,
            frontchannel_logout: false,
            protocol: "openid-connect",
            attributes,
            authentication_flow_binding_overrides: BTreeMap::new(),
            full_scope_allowed: c.full_scope_allowed,
            node_re_registration_timeout: -1,
            default_client_scopes: c.default_scopes,
            optional_client_scopes: c.optional_scopes,
            access: access(&["view", "configure", "manage"]),
        }
    }
}

/// CredentialRepresentation of a client secret.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SecretOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListQuery {
    client_id: Option<String>,
    search: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
}

pub async fn list(
    Admin(a): Admin,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<ClientOut>>, Problem> {
    let clients = a
        .list_clients(
            q.client_id,
            q.search.unwrap_or(false),
            Page::all_by_default(q.first, q.max),
        )
        .await?;
    Ok(Json(clients.into_iter().map(ClientOut::from).collect()))
}

pub async fn create(
    State(app): State<App>,
    Admin(a): Admin,
    Body(rep): Body<ClientRep>,
) -> Result<Response, Problem> {
    let c = a.create_client(rep.into()).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["clients", c.client.id.as_str()],
    )))
}

pub async fn get(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<ClientOut>, Problem> {
    Ok(Json(a.get_client(&id).await?.into()))
}

pub async fn update(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<ClientRep>,
) -> Result<StatusCode, Problem> {
    a.update_client(&id, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_client(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_secret(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<SecretOut>, Problem> {
    Ok(Json(SecretOut {
        kind: "secret",
        value: a.client_secret(&id).await?,
    }))
}

pub async fn regenerate_secret(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<SecretOut>, Problem> {
    Ok(Json(SecretOut {
        kind: "secret",
        value: Some(a.regenerate_client_secret(&id).await?),
    }))
}

pub async fn service_account_user(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<UserOut>, Problem> {
    Ok(Json(UserOut::full(a.service_account_user(&id).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::{Client, ClientUuid};

    fn rep(json: &str) -> ClientRep {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn keycloak_client_rep_maps_to_input() {
        let r = rep(
            r#"{"clientId":"app","publicClient":false,"standardFlowEnabled":true,
            "serviceAccountsEnabled":true,"redirectUris":["http://127.0.0.1:9/callback"],
            "attributes":{"pkce.code.challenge.method":"S256","use.refresh.tokens":true,
                          "post.logout.redirect.uris":"https://a/x##https://a/y"},
            "protocolMappers":[{"name":"ignored"}]}"#,
        );
        let i = ClientInput::from(r);
        assert_eq!(i.client_id.as_deref(), Some("app"));
        assert_eq!(i.public_client, Some(false));
        assert_eq!(i.service_accounts, Some(true));
        assert_eq!(i.standard_flow, Some(true));
        let attrs = i.attributes.unwrap_or_default();
        assert_eq!(
            attrs.get("pkce.code.challenge.method").map(String::as_str),
            Some("S256")
        );
        assert_eq!(
            attrs.get("use.refresh.tokens").map(String::as_str),
            Some("true")
        );
        assert!(!attrs.contains_key(POST_LOGOUT_ATTR));
        assert_eq!(
            i.post_logout_redirect_uris,
            Some(vec!["https://a/x".to_owned(), "https://a/y".to_owned()])
        );
    }

    fn client(auth: ClientAuthMethod) -> Client {
        Client {
            id: ClientUuid::new(),
            client_id: "app".into(),
            name: None,
            description: None,
            enabled: true,
            auth_method: auth,
            secret_sealed: None,
            redirect_uris: vec!["https://a/cb".into()],
            post_logout_redirect_uris: vec!["https://a/bye".into()],
            web_origins: vec![],
            root_url: None,
            base_url: None,
            bearer_only: false,
            consent_required: false,
            standard_flow: true,
            direct_access_grants: false,
            service_accounts: false,
            full_scope_allowed: true,
            optional_scopes: vec![],
            default_scopes: vec!["profile".into()],
            attributes: BTreeMap::new(),
            created_at: 0,
        }
    }

    #[test]
    fn client_out_speaks_keycloak() {
        let c = client(ClientAuthMethod::Secret);
        let id = c.id.0.clone();
        let v = serde_json::to_value(ClientOut::from(ClientView {
            client: c,
            secret: Some("s".into()),
        }))
        .unwrap_or_default();
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["clientId"], "app");
        assert_eq!(v["publicClient"], false);
        assert_eq!(v["clientAuthenticatorType"], "client-secret");
        assert_eq!(v["secret"], "s");
        assert_eq!(v["redirectUris"][0], "https://a/cb");
        assert_eq!(v["attributes"][POST_LOGOUT_ATTR], "https://a/bye");
        assert_eq!(v["defaultClientScopes"][0], "profile");
        assert_eq!(v["protocol"], "openid-connect");
        let public = serde_json::to_value(ClientOut::from(ClientView {
            client: client(ClientAuthMethod::None),
            secret: None,
        }))
        .unwrap_or_default();
        assert_eq!(public["publicClient"], true);
        assert!(public.get("secret").is_none());
        let jwt = serde_json::to_value(ClientOut::from(ClientView {
            client: client(ClientAuthMethod::PrivateKeyJwt),
            secret: None,
        }))
        .unwrap_or_default();
        assert_eq!(jwt["clientAuthenticatorType"], "client-jwt");
    }

    #[test]
    fn round_trip_keeps_the_client() {
        // What the admin console does: GET, change one field, PUT the whole representation back.
        let c = client(ClientAuthMethod::Secret);
        let out = serde_json::to_string(&ClientOut::from(ClientView {
            client: c.clone(),
            secret: Some("s".into()),
        }))
        .unwrap_or_default();
        let i = ClientInput::from(rep(&out));
        assert_eq!(i.client_id.as_deref(), Some("app"));
        assert_eq!(i.public_client, Some(false));
        assert_eq!(i.authenticator_type.as_deref(), Some("client-secret"));
        assert_eq!(i.redirect_uris, Some(c.redirect_uris.clone()));
        assert_eq!(
            i.post_logout_redirect_uris,
            Some(c.post_logout_redirect_uris.clone())
        );
        assert_eq!(i.default_scopes, Some(c.default_scopes.clone()));
        assert_eq!(i.implicit_flow, Some(false));
        assert_eq!(i.protocol.as_deref(), Some("openid-connect"));
        assert_eq!(i.secret.as_deref(), Some("s"));
    }
}
