//! The token endpoint (RFC 6749 §3.2) and its companions, introspection (RFC 7662) and
//! revocation (RFC 7009). One file per grant type.

mod authorization_code;
mod cc_memo;
mod client_credentials;
mod introspect;
mod password;
mod refresh;
mod revoke;

use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_crypto::RefreshTokenForm;
use realmgate_domain::{FamilyId, ScopeSet, SessionId, TokenFamily, User};
use realmgate_oidc::OAuthError;
use realmgate_oidc::authorize::params_from_pairs;
use realmgate_oidc::client_auth;
use realmgate_oidc::token_request::{Grant, TokenResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use cc_memo::CcMemo;
pub use introspect::Introspection;

/// A form body as pairs; repeated parameters are refused (RFC 6749 §3.2).
pub(crate) fn form(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>, AppError> {
    params_from_pairs(pairs)
        .map_err(|e| AppError::OAuth(OAuthError::invalid_request(e.to_string())))
}

impl App {
    /// Authenticates the calling client from the Authorization header and the form.
    pub(crate) async fn calling_client(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        form: &BTreeMap<String, String>,
    ) -> Result<Arc<ClientCtx>, AppError> {
        let creds = client_auth::extract(authorization, form)?;
        self.authenticate_client(realm, &creds).await
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
        refresh: Option<(&TokenFamily, String)>,
    ) -> Result<TokenResponse, AppError> {
        let family: Option<FamilyId> = refresh.as_ref().map(|(f, _)| f.id.clone());
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
        Ok(self.token_response(minted, refresh, session))
    }

    /// The token endpoint's answer for `minted`, with the refresh token of `refresh` and the
    /// SSO session's id when there are.
    pub(crate) fn token_response(
        &self,
        minted: crate::tokens::Minted,
        refresh: Option<(&TokenFamily, String)>,
        session: Option<&SessionId>,
    ) -> TokenResponse {
        let now = self.now();
        let (refresh_expires_in, refresh_token) = match refresh {
            Some((f, raw)) => (Some((f.idle_expires_at - now).max(0)), Some(raw)),
            None => (None, None),
        };
        TokenResponse {
            access_token: minted.access_token,
            token_type: "Bearer",
            expires_in: minted.expires_in,
            refresh_expires_in,
            refresh_token,
            id_token: minted.id_token,
            scope: minted.scope,
            session_state: session.map(|s| s.0.clone()),
            not_before_policy: 0,
        }
    }

    /// A new token family for `issue` at generation 1: its first refresh token lives for the
    /// realm's idle timeout, and the family ends with its session (or after the realm's maximum
    /// lifespan, for a grant without one).
    pub(crate) fn new_family(
        &self,
        realm: &RealmCtx,
        issue: &Issue<'_>,
        family: &FamilyId,
    ) -> TokenFamily {
        let now = self.now();
        let settings = &realm.realm.settings;
        let session_end = issue.session.map(|(_, exp)| exp);
        TokenFamily {
            id: family.clone(),
            client: issue.client.client.id.clone(),
            user_id: issue.user.id.clone(),
            session_id: issue.session.map(|(s, _)| s.clone()),
            scope: issue.scope.to_string(),
            auth_time: issue.auth_time,
            amr: issue.amr.to_vec(),
            generation: 1,
            issued_at: now,
            idle_expires_at: realmgate_domain::settings::refresh_expiry(
                now,
                settings.sso_session_idle_timeout,
                settings.sso_session_max_lifespan,
                session_end,
            ),
            expires_at: session_end.unwrap_or(now + settings.sso_session_max_lifespan),
            revoked_at: None,
        }
    }

    /// The refresh token of `family`'s current generation.
    pub(crate) fn refresh_token_for(
        &self,
        realm: &RealmCtx,
        family: &TokenFamily,
    ) -> Result<String, AppError> {
        let id = uuid::Uuid::parse_str(family.id.as_str()).map_err(AppError::internal)?;
        let generation = u64::try_from(family.generation).map_err(AppError::internal)?;
        Ok(self
            .refresh_key()
            .mint(realm.id().as_str(), *id.as_bytes(), generation))
    }

    /// What a presented refresh token is: a generation of a family (its MAC verified for this
    /// realm), the hash of a stored token from before generations, or nothing valid.
    pub(crate) fn read_refresh(&self, realm: &RealmCtx, raw: &str) -> Presented {
        match self.refresh_key().open(realm.id().as_str(), raw) {
            RefreshTokenForm::Generation { family, generation } => {
                match i64::try_from(generation) {
                    Ok(g) => Presented::Generation(
                        FamilyId(uuid::Uuid::from_bytes(family).to_string()),
                        g,
                    ),
                    Err(_) => Presented::Invalid,
                }
            }
            RefreshTokenForm::Legacy => Presented::Legacy(realmgate_crypto::token_hash(raw)),
            RefreshTokenForm::Invalid => Presented::Invalid,
        }
    }
}

/// A presented refresh token (see [`App::read_refresh`]).
pub(crate) enum Presented {
    Generation(FamilyId, i64),
    /// The hash to look the token up by in `refresh_tokens`.
    Legacy(String),
    Invalid,
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
