//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `id_token_hint`,
//! `post_logout_redirect_uri` (registered URIs only, exact match), `state`, `client_id`.
//! Without a valid hint the user confirms on a page first, so a link cannot log anyone out.

use crate::authorize::{Browser, CookieOps, SESSION_PURPOSE};
use crate::{App, AppError, RealmCtx};
use realmgate_domain::SessionId;
use serde::{Deserialize, Serialize};

pub const LOGOUT_PURPOSE: &str = "logout";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PendingLogout {
    redirect: Option<String>,
    csrf: String,
}

#[derive(Debug)]
pub enum LogoutStep {
    Redirect(String),
    /// Ask the user to confirm; the form posts `flow` back.
    Confirm {
        flow: String,
    },
    LoggedOut,
    ErrorPage(String),
}

impl App {
    pub async fn logout(
        &self,
        realm: &RealmCtx,
        req: LogoutRequest,
        browser: &Browser,
    ) -> Result<(LogoutStep, CookieOps), AppError> {
        let mut ops = CookieOps::default();
        let mut hinted_sid = None;
        let mut client_id = req.client_id.clone();
        if let Some(hint) = req.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            let claims = match self.verify_own_jwt(realm, hint, None).await {
                Ok(c) if c.get("iss").and_then(|v| v.as_str()) == Some(realm.issuer.as_str()) => c,
                _ => {
                    return Ok((
                        LogoutStep::ErrorPage("Invalid parameter: id_token_hint".into()),
                        ops,
                    ));
                }
            };
            let aud = claims
                .get("aud")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            if client_id.is_some() && client_id != aud {
                return Ok((
                    LogoutStep::ErrorPage(
                        "Parameter client_id does not match id_token_hint".into(),
                    ),
                    ops,
                ));
            }
            client_id = aud;
            hinted_sid = claims
                .get("sid")
                .and_then(|v| v.as_str())
                .map(|s| SessionId(s.to_owned()));
        }
        let redirect = match req
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(uri) => {
                let Some(cid) = &client_id else {
                    return Ok((LogoutStep::ErrorPage("Either id_token_hint or client_id is required with post_logout_redirect_uri".into()), ops));
                };
                let Some(client) = self.client(realm.id(), cid).await? else {
                    return Ok((LogoutStep::ErrorPage("Client not found.".into()), ops));
                };
                let c = &client.client;
                let allowed = c.post_logout_redirect_uris.iter().any(|u| u == uri)
                    || (c.post_logout_redirect_uris.iter().any(|u| u == "+")
                        && c.redirect_uris.iter().any(|u| u == uri));
                if !allowed {
                    return Ok((LogoutStep::ErrorPage("Invalid redirect uri".into()), ops));
                }
                let mut fields = Vec::new();
                if let Some(s) = &req.state {
                    fields.push(("state".to_owned(), s.clone()));
                }
                Some(realmgate_oidc::redirect::append_query(uri, &fields))
            }
        };
        if let Some(sid) = hinted_sid {
            self.end_session(realm, &sid).await?;
            if let Some(cookie_sid) = browser
                .session
                .as_deref()
                .and_then(|c| self.session_id_from_cookie(realm, c))
            {
                self.end_session(realm, &cookie_sid).await?;
            }
            ops.clear_session = true;
            return Ok((
                redirect
                    .map(LogoutStep::Redirect)
                    .unwrap_or(LogoutStep::LoggedOut),
                ops,
            ));
        }
        let csrf = match &browser.csrf {
            Some(c) => c.clone(),
            None => {
                let c = realmgate_crypto::random_token(24);
                ops.set_csrf = Some(c.clone());
                c
            }
        };
        let exp = self.now() + 600;
        let flow = self.seal_artifact(
            realm.id(),
            LOGOUT_PURPOSE,
            exp,
            &PendingLogout { redirect, csrf },
        )?;
        Ok((LogoutStep::Confirm { flow }, ops))
    }

    /// The confirmation form's submission.
    pub async fn confirm_logout(
        &self,
        realm: &RealmCtx,
        flow: &str,
        browser: &Browser,
    ) -> Result<(LogoutStep, CookieOps), AppError> {
        let mut ops = CookieOps::default();
        let pending: Option<PendingLogout> = self.open_artifact(realm.id(), LOGOUT_PURPOSE, flow);
        let Some(pending) = pending.filter(|p| {
            browser.csrf.as_deref().is_some_and(|c| {
                realmgate_crypto::constant_time_eq(c.as_bytes(), p.csrf.as_bytes())
            })
        }) else {
            return Ok((
                LogoutStep::ErrorPage("Your logout request expired or is invalid.".into()),
                ops,
            ));
        };
        if let Some(raw) = browser.session.as_deref() {
            if let Some(sid) = self
                .open_artifact::<crate::flow::SessionCookie>(realm.id(), SESSION_PURPOSE, raw)
                .map(|c| c.sid)
            {
                self.end_session(realm, &sid).await?;
            }
            ops.clear_session = true;
        }
        Ok((
            pending
                .redirect
                .map(LogoutStep::Redirect)
                .unwrap_or(LogoutStep::LoggedOut),
            ops,
        ))
    }

    /// Revokes a session and every token family minted in it.
    pub async fn end_session(&self, realm: &RealmCtx, sid: &SessionId) -> Result<(), AppError> {
        let mut tx = self.store().realm(realm.id()).await?;
        tx.revoke_session(sid).await?;
        tx.commit().await?;
        self.subjects_changed(realm.id()).await;
        Ok(())
    }
}
