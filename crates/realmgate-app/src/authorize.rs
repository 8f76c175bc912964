//! The browser side of the authorization code flow: the authorization endpoint, the login and
//! consent form submissions, SSO reuse, and issuing the code (RFC 6749 §4.1, OIDC Core §3.1.2).
//! Returns what the HTTP layer must show or where it must send the browser, plus cookie changes.

use crate::flow::{PendingAuth, SessionCookie};
use crate::login::LoginOutcome;
use crate::tokens::{allowed_scopes, grant_scopes};
use crate::{App, AppError, RealmCtx};
use realmgate_domain::{AuthCode, Consent, FamilyId, SessionId, User, UserId, UserSession};
use realmgate_oidc::authorize::{
    AuthorizeRequest, ClientPolicy, RedirectableError, RequestHead, UnredirectableError,
    params_from_pairs,
};
use realmgate_oidc::redirect::{self, AuthorizationResponse};
use realmgate_oidc::{ErrorCode, OAuthError};

pub const FLOW_PURPOSE: &str = "auth-flow";
pub const SESSION_PURPOSE: &str = "sso-session";

/// Cookies the browser presented.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    pub csrf: Option<String>,
    pub session: Option<String>,
    pub ip: Option<String>,
}

/// Cookie changes to send back.
#[derive(Debug, Default, Clone)]
pub struct CookieOps {
    pub set_csrf: Option<String>,
    /// (sealed value, max-age seconds)
    pub set_session: Option<(String, i64)>,
    pub clear_session: bool,
}

#[derive(Debug)]
pub enum AuthorizeStep {
    /// A page for a person; the request must not be redirected.
    ErrorPage {
        title: String,
        message: String,
    },
    Respond(AuthorizationResponse),
    Login {
        flow: String,
        csrf: String,
        username: Option<String>,
        error: Option<String>,
        client_name: String,
    },
    Consent {
        flow: String,
        csrf: String,
        client_name: String,
        scopes: Vec<String>,
    },
}

fn error_page(message: impl Into<String>) -> AuthorizeStep {
    AuthorizeStep::ErrorPage {
        title: "We are sorry...".to_owned(),
        message: message.into(),
    }
}

fn unredirectable(e: &UnredirectableError) -> AuthorizeStep {
    match e {
        UnredirectableError::UnknownClient | UnredirectableError::DisabledClient => {
            error_page("Client not found.")
        }
        UnredirectableError::RedirectUriMismatch | UnredirectableError::MissingRedirectUri => {
            error_page("Invalid parameter: redirect_uri")
        }
        other => error_page(format!("Invalid request: {other}.")),
    }
}

impl App {
    /// The authorization endpoint (GET or POST, RFC 6749 §3.1).
    pub async fn authorize(
        &self,
        realm: &RealmCtx,
        pairs: Vec<(String, String)>,
        browser: &Browser,
    ) -> Result<(AuthorizeStep, CookieOps), AppError> {
        let mut ops = CookieOps::default();
        let params = match params_from_pairs(pairs) {
            Ok(p) => p,
            Err(e) => return Ok((unredirectable(&e), ops)),
        };
        let head = match RequestHead::parse(&params) {
            Ok(h) => h,
            Err(e) => return Ok((unredirectable(&e), ops)),
        };
        let client = match self.client(realm.id(), &head.client_id).await? {
            Some(c) if c.client.enabled && !c.client.bearer_only => c,
            Some(_) => return Ok((unredirectable(&UnredirectableError::DisabledClient), ops)),
            None => return Ok((unredirectable(&UnredirectableError::UnknownClient), ops)),
        };
        let redirect_uri = match head.resolve_redirect(&client.client.redirect_uris) {
            Ok(r) => r,
            Err(e) => return Ok((unredirectable(&e), ops)),
        };
        let policy = ClientPolicy {
            standard_flow: client.client.standard_flow,
            public: client.client.is_public(),
            pkce_required: client.client.attr("pkce.code.challenge.method") == Some("S256"),
            allowed_scopes: allowed_scopes(&client.client),
        };
        let request = match AuthorizeRequest::validate(&params, &head, redirect_uri, &policy) {
            Ok(r) => r,
            Err(e) => return Ok((self.redirect_error(realm, e), ops)),
        };
        if !realm.realm.enabled {
            return Ok((error_page("Realm not enabled."), ops));
        }
        let csrf = match &browser.csrf {
            Some(c) if c.len() >= 16 => c.clone(),
            _ => {
                let c = realmgate_crypto::random_token(24);
                ops.set_csrf = Some(c.clone());
                c
            }
        };

        // SSO: reuse a live session unless the client asks for a fresh login.
        let now = self.now();
        if let Some((user, session)) = self.session_from_cookie(realm, browser).await? {
            let too_old = request.max_age.is_some_and(|m| now - session.auth_time > m);
            if !request.prompt.login && !too_old {
                let step = self
                    .after_authentication(realm, &request, &user, &session, csrf, &mut ops)
                    .await?;
                return Ok((step, ops));
            }
        } else if browser.session.is_some() {
            ops.clear_session = true;
        }
        if request.prompt.none {
            let e = OAuthError::new(ErrorCode::LoginRequired, "the user is not logged in");
            return Ok((self.redirect_error_for(realm, &request, e), ops));
        }
        let step = self.login_step(realm, request, csrf, None, None)?;
        Ok((step, ops))
    }

    /// The login form submission.
    pub async fn submit_login(
        &self,
        realm: &RealmCtx,
        flow_token: &str,
        username: &str,
        password: &str,
        browser: &Browser,
    ) -> Result<(AuthorizeStep, CookieOps), AppError> {
        let mut ops = CookieOps::default();
        let Some((pending, csrf)) = self.open_flow(realm, flow_token, browser) else {
            return Ok((
                error_page(
                    "Your login attempt timed out or is invalid. Please start again from the application.",
                ),
                ops,
            ));
        };
        let request = pending.request;
        if username.trim().is_empty() || password.is_empty() {
            let step = self.login_step(
                realm,
                request,
                csrf,
                Some(username),
                Some("Invalid username or password."),
            )?;
            return Ok((step, ops));
        }
        match self
            .check_password(realm, username, password, browser.ip.as_deref())
            .await?
        {
            LoginOutcome::Success(user) => {
                let session = self.create_session(realm, &user.id, &["pwd"]).await?;
                ops.set_session = Some(self.session_cookie(realm, &session)?);
                let step = self
                    .after_authentication(realm, &request, &user, &session, csrf, &mut ops)
                    .await?;
                Ok((step, ops))
            }
            LoginOutcome::InvalidCredentials => {
                let step = self.login_step(
                    realm,
                    request,
                    csrf,
                    Some(username),
                    Some("Invalid username or password."),
                )?;
                Ok((step, ops))
            }
            LoginOutcome::Locked(secs) => {
                let minutes = (secs + 59) / 60;
                let msg = format!(
                    "Too many failed login attempts. Your account is temporarily locked; try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                );
                Ok((
                    self.login_step(realm, request, csrf, Some(username), Some(&msg))?,
                    ops,
                ))
            }
            LoginOutcome::Disabled => {
                let msg = "Account is disabled, contact your administrator.";
                Ok((
                    self.login_step(realm, request, csrf, Some(username), Some(msg))?,
                    ops,
                ))
            }
        }
    }

    /// The consent form submission.
    pub async fn submit_consent(
        &self,
        realm: &RealmCtx,
        flow_token: &str,
        accepted: bool,
        browser: &Browser,
    ) -> Result<(AuthorizeStep, CookieOps), AppError> {
        let ops = CookieOps::default();
        let Some((pending, _csrf)) = self.open_flow(realm, flow_token, browser) else {
            return Ok((
                error_page(
                    "Your consent request timed out or is invalid. Please start again from the application.",
                ),
                ops,
            ));
        };
        let (Some(uid), Some(sid)) = (pending.user, pending.session) else {
            return Ok((error_page("Invalid consent request."), ops));
        };
        let request = pending.request;
        if !accepted {
            let e = OAuthError::new(ErrorCode::AccessDenied, "the user denied consent");
            return Ok((self.redirect_error_for(realm, &request, e), ops));
        }
        let session = match self.live_session(realm, &SessionId(sid)).await? {
            Some(s) if s.user_id.0 == uid => s,
            _ => {
                return Ok((
                    error_page("Your session has ended. Please start again from the application."),
                    ops,
                ));
            }
        };
        let client = self
            .client(realm.id(), &request.client_id)
            .await?
            .ok_or(AppError::NotFound("client"))?;
        let mut tx = self.store().realm(realm.id()).await?;
        tx.upsert_consent(&Consent {
            user_id: UserId(uid),
            client: client.client.id.clone(),
            scopes: request.scopes().iter().map(str::to_owned).collect(),
            granted_at: self.now(),
        })
        .await?;
        tx.commit().await?;
        let step = AuthorizeStep::Respond(self.issue_code(realm, &request, &session).await?);
        Ok((step, ops))
    }

    fn open_flow(
        &self,
        realm: &RealmCtx,
        token: &str,
        browser: &Browser,
    ) -> Option<(PendingAuth, String)> {
        let pending: PendingAuth = self.open_artifact(realm.id(), FLOW_PURPOSE, token)?;
        let cookie = browser.csrf.as_deref()?;
        realmgate_crypto::constant_time_eq(cookie.as_bytes(), pending.csrf.as_bytes()).then(|| {
            let csrf = pending.csrf.clone();
            (pending, csrf)
        })
    }

    async fn session_from_cookie(
        &self,
        realm: &RealmCtx,
        browser: &Browser,
    ) -> Result<Option<(User, UserSession)>, AppError> {
        let Some(raw) = browser.session.as_deref() else {
            return Ok(None);
        };
        let Some(cookie) = self.open_artifact::<SessionCookie>(realm.id(), SESSION_PURPOSE, raw)
        else {
            return Ok(None);
        };
        let Some(session) = self.live_session(realm, &cookie.sid).await? else {
            return Ok(None);
        };
        match self.user(realm, &session.user_id).await? {
            Some(u) if u.enabled => Ok(Some((u, session))),
            _ => Ok(None),
        }
    }

    pub(crate) fn session_cookie(
        &self,
        realm: &RealmCtx,
        s: &UserSession,
    ) -> Result<(String, i64), AppError> {
        let body = SessionCookie {
            sid: s.id.clone(),
            expires_at: s.expires_at,
        };
        let sealed = self.seal_artifact(realm.id(), SESSION_PURPOSE, s.expires_at, &body)?;
        Ok((sealed, (s.expires_at - self.now()).max(0)))
    }

    /// The session a browser's cookie names, for logout.
    pub fn session_id_from_cookie(&self, realm: &RealmCtx, raw: &str) -> Option<SessionId> {
        self.open_artifact::<SessionCookie>(realm.id(), SESSION_PURPOSE, raw)
            .map(|c| c.sid)
    }

    fn login_step(
        &self,
        realm: &RealmCtx,
        request: AuthorizeRequest,
        csrf: String,
        username: Option<&str>,
        error: Option<&str>,
    ) -> Result<AuthorizeStep, AppError> {
        let exp = self.now() + realm.realm.settings.login_lifespan;
        let username = username
            .map(str::to_owned)
            .or_else(|| request.login_hint.clone());
        let client_name = request.client_id.clone();
        let pending = PendingAuth {
            request,
            csrf: csrf.clone(),
            expires_at: exp,
            user: None,
            session: None,
        };
        let flow = self.seal_artifact(realm.id(), FLOW_PURPOSE, exp, &pending)?;
        Ok(AuthorizeStep::Login {
            flow,
            csrf,
            username,
            error: error.map(str::to_owned),
            client_name,
        })
    }

    async fn after_authentication(
        &self,
        realm: &RealmCtx,
        request: &AuthorizeRequest,
        user: &User,
        session: &UserSession,
        csrf: String,
        ops: &mut CookieOps,
    ) -> Result<AuthorizeStep, AppError> {
        let _ = ops;
        let client = self
            .client(realm.id(), &request.client_id)
            .await?
            .ok_or(AppError::NotFound("client"))?;
        if client.client.consent_required {
            let stored = self
                .store()
                .realm_read(realm.id())
                .await?
                .consent_of(&user.id, &client.client.id)
                .await?;
            let covered = stored.is_some_and(|c| {
                request
                    .scopes()
                    .iter()
                    .all(|s| s == "openid" || c.scopes.iter().any(|g| g == s))
            });
            if !covered || request.prompt.consent {
                if request.prompt.none {
                    let e =
                        OAuthError::new(ErrorCode::ConsentRequired, "the user has not consented");
                    return Ok(self.redirect_error_for(realm, request, e));
                }
                let exp = self.now() + realm.realm.settings.login_lifespan;
                let granted = grant_scopes(&client.client, &request.scopes()).unwrap_or_default();
                let pending = PendingAuth {
                    request: request.clone(),
                    csrf: csrf.clone(),
                    expires_at: exp,
                    user: Some(user.id.0.clone()),
                    session: Some(session.id.0.clone()),
                };
                let flow = self.seal_artifact(realm.id(), FLOW_PURPOSE, exp, &pending)?;
                let client_name = client
                    .client
                    .name
                    .clone()
                    .filter(|n| !n.is_empty() && !n.starts_with("${"))
                    .unwrap_or_else(|| client.client.client_id.clone());
                let scopes = granted
                    .iter()
                    .filter(|s| !matches!(*s, "web-origins" | "acr" | "basic"))
                    .map(str::to_owned)
                    .collect();
                return Ok(AuthorizeStep::Consent {
                    flow,
                    csrf,
                    client_name,
                    scopes,
                });
            }
        }
        Ok(AuthorizeStep::Respond(
            self.issue_code(realm, request, session).await?,
        ))
    }

    /// Stores a one-time code (by hash) and builds the success response.
    async fn issue_code(
        &self,
        realm: &RealmCtx,
        request: &AuthorizeRequest,
        session: &UserSession,
    ) -> Result<AuthorizationResponse, AppError> {
        let client = self
            .client(realm.id(), &request.client_id)
            .await?
            .ok_or(AppError::NotFound("client"))?;
        let code = realmgate_crypto::random_token(32);
        let now = self.now();
        let record = AuthCode {
            code_hash: realmgate_crypto::token_hash(&code),
            client: client.client.id.clone(),
            user_id: session.user_id.clone(),
            session_id: session.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            expires_at: now + realm.realm.settings.access_code_lifespan,
            family_id: FamilyId::new(),
            consumed_at: None,
        };
        let mut tx = self.store().realm(realm.id()).await?;
        tx.insert_code(&record).await?;
        tx.touch_session(&session.id, now).await?;
        tx.commit().await?;
        Ok(redirect::success(
            &request.redirect_uri,
            request.response_mode,
            &code,
            request.state.as_deref(),
            &realm.issuer,
            Some(&session.id.0),
        ))
    }

    fn redirect_error(&self, realm: &RealmCtx, e: RedirectableError) -> AuthorizeStep {
        AuthorizeStep::Respond(redirect::error(
            &e.redirect_uri,
            e.response_mode,
            &e.error,
            e.state.as_deref(),
            &realm.issuer,
        ))
    }

    fn redirect_error_for(
        &self,
        realm: &RealmCtx,
        r: &AuthorizeRequest,
        e: OAuthError,
    ) -> AuthorizeStep {
        AuthorizeStep::Respond(redirect::error(
            &r.redirect_uri,
            r.response_mode,
            &e,
            r.state.as_deref(),
            &realm.issuer,
        ))
    }
}
