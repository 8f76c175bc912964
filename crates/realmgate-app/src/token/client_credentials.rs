//! `grant_type=client_credentials` (RFC 6749 §4.4). The hot path: cached client, cached keys,
//! cached role claims, one signature, no database write. The default grant (no `scope`) signs
//! claims rendered once per cached client (`cc_memo`).

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::ScopeSet;
use realmgate_oidc::OAuthError;
use realmgate_oidc::token_request::TokenResponse;

impl App {
    pub(crate) async fn grant_client_credentials(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        scope: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        if client.client.is_public() || !client.client.service_accounts {
            return Err(OAuthError::unauthorized_client(
                "Client not enabled to retrieve service account",
            )
            .into());
        }
        let user = client
            .service_user
            .as_ref()
            .filter(|u| u.enabled)
            .ok_or_else(|| {
                AppError::OAuth(OAuthError::unauthorized_client(
                    "the client has no service account",
                ))
            })?;
        // The default grant (no `scope`): its claims rendered once per cached client.
        if scope.is_none()
            && let Some(memo) = self.cc_memo(realm, client, user).await?
        {
            let now = self.now();
            let jti = uuid::Uuid::new_v4().to_string();
            let access_token = self
                .signer(realm.id(), memo.alg)
                .await?
                .sign_jwt_json(Some("at+jwt"), &memo.payload(now, &jti))?;
            let minted = crate::tokens::Minted {
                access_token,
                expires_in: memo.lifespan,
                id_token: None,
                scope: memo.scope.clone(),
            };
            return Ok(self.token_response(minted, None, None));
        }
        let requested = ScopeSet::parse(scope.unwrap_or(""))
            .map_err(|e| AppError::OAuth(OAuthError::invalid_scope(e.reason)))?;
        let granted = client.grant(&requested)?;
        let now = self.now();
        let issue = Issue {
            client,
            user,
            session: None,
            scope: &granted,
            auth_time: now,
            amr: &[],
            nonce: None,
        };
        self.respond_with_tokens(realm, &issue, None).await
    }
}
