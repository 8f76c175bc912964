//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6). A replayed code revokes
//! every token issued from it (§4.1.2).

use super::Issue;
use crate::client_auth::ClientCtx;
use crate::{App, AppError, RealmCtx};
use realmgate_domain::ScopeSet;
use realmgate_oidc::token_request::TokenResponse;
use realmgate_oidc::{OAuthError, pkce};
use realmgate_store::CodeRedemption;

impl App {
    pub(crate) async fn grant_authorization_code(
        &self,
        realm: &RealmCtx,
        client: &ClientCtx,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, AppError> {
        if !client.client.standard_flow {
            return Err(OAuthError::unauthorized_client(
                "the client may not use the authorization code grant",
            )
            .into());
        }
        let now = self.now();
        let mut tx = self.store().realm(realm.id()).await?;
        let record = match tx
            .consume_code(&realmgate_crypto::token_hash(code), now)
            .await?
        {
            CodeRedemption::Unknown => {
                return Err(OAuthError::invalid_grant("Code not valid").into());
            }
            CodeRedemption::Replayed(c) => {
                if c.client == client.client.id {
                    tx.revoke_family(&c.family_id, now).await?;
                    tx.commit().await?;
                    self.subjects_changed(realm.id()).await;
                    tracing::warn!(
                        realm = realm.name(),
                        "authorization code replayed; its tokens were revoked"
                    );
                }
                return Err(OAuthError::invalid_grant("Code already used").into());
            }
            CodeRedemption::First(c) => c,
        };
        if record.client != client.client.id {
            // Roll back: a code presented by the wrong client stays usable by its owner.
            return Err(OAuthError::invalid_grant("Code was issued to another client").into());
        }
        let fail = |msg: &str| AppError::OAuth(OAuthError::invalid_grant(msg));
        let checked = (|| {
            if record.expires_at < now {
                return Err(fail("Code is expired"));
            }
            if let Some(r) = redirect_uri
                && r != record.redirect_uri
            {
                return Err(fail("Incorrect redirect_uri"));
            }
            pkce::verify(record.code_challenge.as_deref(), verifier).map_err(AppError::OAuth)
        })();
        if let Err(e) = checked {
            tx.commit().await?; // the code stays consumed
            return Err(e);
        }
        let session = tx
            .session_by_id(&record.session_id)
            .await?
            .filter(|s| !s.revoked && s.expires_at > now);
        let Some(session) = session else {
            tx.commit().await?;
            return Err(fail("Session not active"));
        };
        let user = tx.user_by_id(&record.user_id).await?.filter(|u| u.enabled);
        let Some(user) = user else {
            tx.commit().await?;
            return Err(fail("User not found or disabled"));
        };
        let scope = client.grant(&ScopeSet::parse(&record.scope).unwrap_or_default())?;
        let issue = Issue {
            client,
            user: &user,
            session: Some((&session.id, session.expires_at)),
            scope: &scope,
            auth_time: record.auth_time,
            amr: &record.amr,
            nonce: record.nonce.as_deref(),
        };
        let family = self.new_family(realm, &issue, &record.family_id);
        let raw = self.refresh_token_for(realm, &family)?;
        tx.insert_family(&family).await?;
        tx.commit().await?;
        self.respond_with_tokens(realm, &issue, Some((&family, raw)))
            .await
    }
}
