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
    params_from_pairs(pairs)
        .map_err(|e| AppError::OAuth(OAuthError::invalid_request(e.to_string())))
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
        self.authenticate_client(realm, &creds, &self.token_endpoint(realm))
            .await
    }

    /// POST /token.
    pub async fn token(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        pairs: Vec<(String, String)>,
        ip: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        if !realm.realm.enabled {
            return Err(OAuthError::invalid_request("Realm not enabled").into());
        }
        let form = form(pairs)?;
        let grant = Grant::parse(&form)?;
        let client = self.calling_client(realm, authorization, &form).await?;
        match grant {
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.grant_authorization_code(
                    realm,
                    &client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                )
                .await
            }
            Grant::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.grant_refresh(realm, &client, &refresh_token, scope.as_deref())
                    .await
            }
            Grant::ClientCredentials { scope } => {
                self.grant_client_credentials(realm, &client, scope.as_deref())
                    .await
            }
            Grant::Password {
                username,
                password,
                scope,
            } => {
                self.grant_password(realm, &client, &username, &password, scope.as_deref(), ip)
                    .await
            }
        }
    }

    /// Mints the access (and ID) token for `issue`, returning the optional refresh token with it.
    pub(crate) async fn respond_with_tokens(
        &self,
        realm: &RealmCtx,
        issue: &Issue<'_>,
        refresh: Option<(&RefreshToken, String)>,
    ) -> Result<TokenResponse, AppError> {
        let family: Option<FamilyId> = refresh.as_ref().map(|(r, _)| r.family_id.clone());
        let session = issue.session.map(|(s, _)| s);
        let minted = self
            .mint(
                realm,
                &crate::tokens::Subject {
                    client: &issue.client.client,
                    user: issue.user,
                    session,
                    scope: issue.scope,
                    auth_time: Some(issue.auth_time),
                    amr: issue.amr,
                    nonce: issue.nonce,
                    family: family.as_ref(),
                    code: None,
                },
            )
            .await?;
        let now = self.now();
        let (refresh_expires_in, refresh_token) = match refresh {
            Some((r, raw)) => (Some((r.expires_at - now).max(0)), Some(raw)),
            None => (None, None),
        };
        Ok(TokenResponse {
            access_token: minted.access_token,
            token_type: "Bearer",
            expires_in: minted.expires_in,
            refresh_expires_in,
            refresh_token,
            id_token: minted.id_token,
            scope: minted.scope,
            session_state: session.map(|s| s.0.clone()),
            not_before_policy: 0,
        })
    }

    /// A new refresh token record (stored by hash) in `family`; returns (raw, record). It lives for
    /// the realm's idle timeout, never beyond its session.
    pub(crate) fn new_refresh(
        &self,
        realm: &RealmCtx,
        issue: &Issue<'_>,
        family: &FamilyId,
    ) -> (String, RefreshToken) {
        let now = self.now();
        let raw = realmgate_crypto::random_token(32);
        let settings = &realm.realm.settings;
        let record = RefreshToken {
            token_hash: realmgate_crypto::token_hash(&raw),
            family_id: family.clone(),
            client: issue.client.client.id.clone(),
            user_id: issue.user.id.clone(),
            session_id: issue.session.map(|(s, _)| s.clone()),
            scope: issue.scope.to_string(),
            auth_time: issue.auth_time,
            amr: issue.amr.to_vec(),
            issued_at: now,
            expires_at: realmgate_domain::settings::refresh_expiry(
                now,
                settings.sso_session_idle_timeout,
                settings.sso_session_max_lifespan,
                issue.session.map(|(_, exp)| exp),
            ),
            rotated_at: None,
        };
        (raw, record)
    }
}

/// What a grant issues tokens for.
pub(crate) struct Issue<'a> {
    pub client: &'a ClientCtx,
    pub user: &'a User,
    /// The SSO session and its expiry, for user grants.
    pub session: Option<(&'a SessionId, i64)>,
    pub scope: &'a ScopeSet,
    pub auth_time: i64,
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
}
