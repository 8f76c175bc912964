//! `grant_type=password` (RFC 6749 §4.3), for clients that enable direct access grants only
//! (the master realm's `admin-cli`). Subject to the same brute-force protection as the login page.

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::login::LoginOutcome;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{FamilyId, ScopeSet};
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;

impl App {
    pub(crate) async fn grant_password(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        username: &str,
        password: &str,
        scope: Option<&str>,
        ip: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        if !client.client.direct_access_grants {
            return Err(OAuthError::unauthorized_client(
                "Client not allowed for direct access grants",
            )
            .into());
        }
        let requested = ScopeSet::parse(scope.unwrap_or(""))
            .map_err(|e| AppError::OAuth(OAuthError::invalid_scope(e.reason)))?;
        let granted = client.grant(&requested)?;
        let user = match self.check_password(realm, username, password, ip).await? {
            LoginOutcome::Success(u) => u,
            LoginOutcome::InvalidCredentials => {
                return Err(OAuthError::invalid_grant("Invalid user credentials").into());
            }
            LoginOutcome::Locked(_) => {
                return Err(OAuthError::invalid_grant(
                    "Account temporarily locked after too many failed attempts",
                )
                .into());
            }
            LoginOutcome::Disabled => {
                return Err(OAuthError::invalid_grant("Account disabled").into());
            }
        };
        let amr = vec!["pwd".to_owned()];
        let session = self.create_session(realm, &user.id, &["pwd"]).await?;
        let issue = Issue {
            client,
            user: &user,
            session: Some((&session.id, session.expires_at)),
            scope: &granted,
            auth_time: session.auth_time,
            amr: &amr,
            nonce: None,
        };
        let family = self.new_family(realm, &issue, &FamilyId::new());
        let raw = self.refresh_token_for(realm, &family)?;
        let mut tx = self.store().realm(realm.id()).await?;
        tx.insert_family(&family).await?;
        tx.commit().await?;
        self.respond_with_tokens(realm, &issue, Some((&family, raw)))
            .await
    }
}
