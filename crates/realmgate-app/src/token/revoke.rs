//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant (family), and
//! with it the access tokens minted from that grant; revoking an access token revokes that token.
//! Unknown or invalid tokens answer 200 (§2.2).

use crate::{App, AppError, RealmCtx};
use realmgate_oidc::OAuthError;

impl App {
    pub async fn revoke(
        &self,
        realm: &RealmCtx,
        authorization: Option<&str>,
        pairs: Vec<(String, String)>,
    ) -> Result<(), AppError> {
        let form = super::form(pairs)?;
        let caller = self.calling_client(realm, authorization, &form).await?;
        let token = form
            .get("token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::OAuth(OAuthError::invalid_request("token is required")))?;
        let now = self.now();
        let not_yours = || {
            AppError::OAuth(OAuthError::unauthorized_client(
                "the token was issued to another client",
            ))
        };
        if token.matches('.').count() == 2 {
            let Ok(claims) = self.verify_own_jwt(realm, token, Some("at+jwt")).await else {
                return Ok(());
            };
            let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            if s("azp").as_deref() != Some(caller.client.client_id.as_str()) {
                return Err(not_yours());
            }
            let mut tx = self.store().realm(realm.id()).await?;
            if let Some(jti) = s("jti") {
                let exp = claims.get("exp").and_then(|v| v.as_i64()).unwrap_or(now);
                tx.revoke_jti(&jti, exp).await?;
            }
            tx.commit().await?;
            self.subjects_changed(realm.id()).await;
            return Ok(());
        }
        let mut tx = self.store().realm(realm.id()).await?;
        // A refresh token revokes its family, whichever generation it is (its holder has the grant).
        let owner = match self.read_refresh(realm, token) {
            super::Presented::Generation(family, _) => tx
                .family_status(&family)
                .await?
                .map(|s| (s.family.id, s.family.client)),
            super::Presented::Legacy(hash) => tx
                .refresh_by_hash(&hash)
                .await?
                .map(|rt| (rt.family_id, rt.client)),
            super::Presented::Invalid => None,
        };
        let Some((family, client)) = owner else {
            return Ok(());
        };
        if client != caller.client.id {
            return Err(not_yours());
        }
        tx.revoke_family(&family, now).await?;
        tx.commit().await?;
        self.subjects_changed(realm.id()).await;
        Ok(())
    }
}
