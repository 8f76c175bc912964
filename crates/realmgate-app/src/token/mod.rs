//! The token endpoint (RFC 6749 §3.2) and its companions, introspection (RFC 7662) and
//! revocation (RFC 7009). One file per grant type.

mod authorization_code;
mod client_credentials;
mod introspect;
mod password;
mod refresh;
mod revoke;

use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{FamilyId, RefreshToken, ScopeSet, SessionId, User};
use realmgate_oidc::OAuthError;
use realmgate_oidc::authorize::params_from_pairs;
use realmgate_oidc::client_auth;
use realmgate_oidc::token_request::{Grant, TokenResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use introspect::Introspection;

/// A form body as pairs; repeated parameters are refused (RFC 6749 §3.2).
pub(crate) fn form(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>, AppError> {
    params_from_pairs(pairs).map_err(|e| AppError::OAuth(OAuthError::invalid_request(e.to_string())))
}

impl App {
    pub fn token_endpoint(&self, realm: &RealmCtx) -> String {
        format!("{}/protocol/openid-connect/token", realm.issuer)
    }

    /// Authenticates the calling client from the Authorization header and the form.
    pub(crate) async fn calling_client(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        form: &BTreeMap<String, String>,
    ) -> Result<Arc<ClientCtx>, AppError> {
        let creds = client_auth::extract(authorization, form)?;
        self.authenticate_client(realm, &creds, &self.token_endpoint(realm)).await
    }

    /// POST /token.
    pub async fn token(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        pairs: Vec<(String, String)>,
        ip: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        let form = form(pairs)?;
        let grant = Grant::parse(&form)?;
        let client = self.calling_client(realm, authorization, &form).await?;
        match grant {
            Grant::AuthorizationCode { code, redirect_uri, code_verifier } => {
                self.grant_authorization_code(realm, &client, &code, redirect_uri.as_deref(), code_verifier.as_deref())
                    .await
            }
            Grant::RefreshToken { refresh_token, scope } => {
                self.grant_refresh(realm, &client, &refresh_token, scope.as_deref()).await
            }
            Grant::ClientCredentials { scope } => self.grant_client_credentials(realm, &client, scope.as_deref()).await,
            Grant::Password { username, password, scope } => {
                self.grant_password(realm, &client, &username, &password, scope.as_deref(), ip).await
            }
        }
    }

    /// Issues a new refresh token in `family` and mints the access (and ID) token.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn respond_with_tokens(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        user: &User,
        session: Option<&SessionId>,
        scope: &ScopeSet,
        auth_time: i64,
        amr: &[String],
        nonce: Option<&str>,
        refresh: Option<&RefreshToken>,
        raw_refresh: Option<String>,
    ) -> Result<TokenResponse, AppError> {
        let family: Option<FamilyId> = refresh.map(|r| r.family_id.clone());
        let minted = self
            .mint(
                realm,
                &crate::tokens::Subject {
                    client: &client.client,
                    user,
                    session,
                    scope,
                    auth_time: Some(auth_time),
                    amr,
                    nonce,
                    family: family.as_ref(),
                    code: None,
                },
            )
            .await?;
        let now = self.now();
        Ok(TokenResponse {
            access_token: minted.access_token,
            token_type: "Bearer",
            expires_in: minted.expires_in,
            refresh_expires_in: refresh.map(|r| (r.expires_at - now).max(0)),
            refresh_token: raw_refresh,
            id_token: minted.id_token,
            scope: minted.scope,
            session_state: session.map(|s| s.0.clone()),
            not_before_policy: 0,
        })
    }

    /// A new refresh token record (stored by hash) for a grant; returns (raw, record).
    pub(crate) fn new_refresh(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        user: &User,
        family: &FamilyId,
        session: Option<(&SessionId, i64)>,
        scope: &str,
        auth_time: i64,
        amr: &[String],
    ) -> (String, RefreshToken) {
        let now = self.now();
        let raw = realmgate_crypto::random_token(32);
        let idle = realm.realm.settings.sso_session_idle_timeout;
        let cap = session.map(|(_, exp)| exp).unwrap_or(now + realm.realm.settings.sso_session_max_lifespan);
        let record = RefreshToken {
            token_hash: realmgate_crypto::token_hash(&raw),
            family_id: family.clone(),
            client: client.client.id.clone(),
            user_id: user.id.clone(),
            session_id: session.map(|(s, _)| s.clone()),
            scope: scope.to_owned(),
            auth_time,
            amr: amr.to_vec(),
            issued_at: now,
            expires_at: (now + idle).min(cap),
            rotated_at: None,
        };
        (raw, record)
    }
}
