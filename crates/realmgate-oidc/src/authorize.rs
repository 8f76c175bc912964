//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
//!
//! Validation happens in two steps because the first errors must never be redirected: until the
//! client and its redirect URI are known to match (§3.1.2.4, §4.1.2.1), the user sees an error page.
//! [`RequestHead`] extracts `client_id` and `redirect_uri`; after the app looked the client up,
//! [`AuthorizeRequest::validate`] checks the rest and its errors may be sent to the redirect URI.

use crate::{ErrorCode, OAuthError, pkce};
use realmgate_domain::ScopeSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type Params = BTreeMap<String, String>;

/// Why an authorization request cannot even be answered by redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnredirectableError {
    #[error("the request has no client_id")]
    MissingClientId,
    #[error("a request parameter was sent more than once: {0}")]
    DuplicateParameter(String),
    #[error("unknown client")]
    UnknownClient,
    #[error("the client is disabled")]
    DisabledClient,
    #[error("redirect_uri is missing and the client has no single registered redirect URI")]
    MissingRedirectUri,
    #[error("redirect_uri does not match a redirect URI registered for this client")]
    RedirectUriMismatch,
}

/// The parts of a request needed before anything can be redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub client_id: String,
    pub redirect_uri: Option<String>,
}

impl RequestHead {
    pub fn parse(params: &Params) -> Result<Self, UnredirectableError> {
        let client_id = params
            .get("client_id")
            .filter(|c| !c.is_empty())
            .ok_or(UnredirectableError::MissingClientId)?;
        Ok(Self {
            client_id: client_id.clone(),
            redirect_uri: params
                .get("redirect_uri")
                .filter(|r| !r.is_empty())
                .cloned(),
        })
    }

    /// Exact string matching against the registered URIs (OAuth 2.0 Security BCP §2.1). When the
    /// request omits `redirect_uri`, a client with exactly one registered URI uses it (§3.1.2.3).
    pub fn resolve_redirect(&self, registered: &[String]) -> Result<String, UnredirectableError> {
        match &self.redirect_uri {
            Some(uri) if registered.iter().any(|r| r == uri) => Ok(uri.clone()),
            Some(_) => Err(UnredirectableError::RedirectUriMismatch),
            None if registered.len() == 1 => Ok(registered[0].clone()),
            None => Err(UnredirectableError::MissingRedirectUri),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// What the client may do, as far as the authorization endpoint cares.
#[derive(Debug, Clone)]
pub struct ClientPolicy {
    pub standard_flow: bool,
    pub public: bool,
    /// The client demands PKCE (public clients always do).
    pub pkce_required: bool,
    /// Scopes this client may request (`openid` is always allowed).
    pub allowed_scopes: ScopeSet,
}

/// A validated authorization request; everything the login and consent steps need to resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub response_mode: ResponseMode,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// Where to send an error once the redirect URI is trusted.
#[derive(Debug, Clone)]
pub struct RedirectableError {
    pub error: OAuthError,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub response_mode: ResponseMode,
}

impl AuthorizeRequest {
    /// Validates the rest of the request for a known client with a matched `redirect_uri`.
    pub fn validate(
        params: &Params,
        head: &RequestHead,
        redirect_uri: String,
        policy: &ClientPolicy,
    ) -> Result<Self, RedirectableError> {
        let state = params.get("state").filter(|s| !s.is_empty()).cloned();
        let response_mode_param = params.get("response_mode").map(String::as_str);
        // Until response_mode is understood, errors go back in the query (the default for code).
        let response_mode = match response_mode_param {
            None | Some("") => ResponseMode::Query,
            Some(m) => match ResponseMode::parse(m) {
                Some(mode) => mode,
                None => {
                    return Err(RedirectableError {
                        error: OAuthError::invalid_request("unsupported response_mode"),
                        redirect_uri,
                        state,
                        response_mode: ResponseMode::Query,
                    });
                }
            },
        };
        let fail = |error: OAuthError| RedirectableError {
            error,
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            response_mode,
        };

        if params.contains_key("request") {
            return Err(fail(OAuthError::new(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            )));
        }
        if params.contains_key("request_uri") {
            return Err(fail(OAuthError::new(
                ErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            )));
        }
        match params.get("response_type").map(String::as_str) {
            Some("code") => {}
            None | Some("") => {
                return Err(fail(OAuthError::invalid_request(
                    "response_type is required",
                )));
            }
            Some(_) => {
                return Err(fail(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                )));
            }
        }
        if !policy.standard_flow {
            return Err(fail(OAuthError::unauthorized_client(
                "the client is not allowed to use the authorization code flow",
            )));
        }

        let requested = ScopeSet::parse(params.get("scope").map(String::as_str).unwrap_or(""))
            .map_err(|e| fail(OAuthError::invalid_scope(e.reason)))?;
        for s in requested.iter() {
            if s != "openid" && !policy.allowed_scopes.contains(s) {
                return Err(fail(OAuthError::invalid_scope(format!(
                    "scope '{s}' is not allowed for this client"
                ))));
            }
        }
        let is_oidc = requested.contains("openid");
        let nonce = params.get("nonce").filter(|n| !n.is_empty()).cloned();

        let prompt =
            parse_prompt(params.get("prompt").map(String::as_str).unwrap_or("")).map_err(&fail)?;

        let max_age = match params.get("max_age").filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => match m.parse::<i64>() {
                Ok(v) if v >= 0 => Some(v),
                _ => {
                    return Err(fail(OAuthError::invalid_request(
                        "max_age must be a non-negative integer",
                    )));
                }
            },
        };

        let code_challenge = pkce::check_challenge(
            params
                .get("code_challenge")
                .map(String::as_str)
                .filter(|s| !s.is_empty()),
            params
                .get("code_challenge_method")
                .map(String::as_str)
                .filter(|s| !s.is_empty()),
            policy.pkce_required || policy.public,
        )
        .map_err(&fail)?;

        let _ = is_oidc;
        Ok(Self {
            client_id: head.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            scope: requested.to_string(),
            state: state.clone(),
            nonce,
            code_challenge,
            response_mode,
            prompt,
            max_age,
            login_hint: params.get("login_hint").filter(|h| !h.is_empty()).cloned(),
        })
    }

    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::parse(&self.scope).unwrap_or_default()
    }
    pub fn is_oidc(&self) -> bool {
        self.scopes().contains("openid")
    }
}

/// OIDC Core §3.1.2.1: `none` must not be combined with other values.
fn parse_prompt(s: &str) -> Result<Prompt, OAuthError> {
    let mut p = Prompt::default();
    for v in s.split(' ').filter(|v| !v.is_empty()) {
        match v {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "unsupported prompt value '{v}'"
                )));
            }
        }
    }
    if p.none && (p.login || p.consent || p.select_account) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(p)
}

/// Rejects requests that repeat a parameter (RFC 6749 §3.1: "MUST NOT be included more than once").
pub fn params_from_pairs(pairs: Vec<(String, String)>) -> Result<Params, UnredirectableError> {
    let mut out = Params::new();
    for (k, v) in pairs {
        if out.insert(k.clone(), v).is_some() {
            return Err(UnredirectableError::DuplicateParameter(k));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ClientPolicy {
        ClientPolicy {
            standard_flow: true,
            public: false,
            pkce_required: false,
            allowed_scopes: ScopeSet::from_iter(["profile", "email"]),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rfc6749_3_1_2_exact_redirect_matching() {
        let head = RequestHead {
            client_id: "c".into(),
            redirect_uri: Some("https://a/cb/".into()),
        };
        assert_eq!(
            head.resolve_redirect(&["https://a/cb".into()]),
            Err(UnredirectableError::RedirectUriMismatch)
        );
        let head = RequestHead {
            client_id: "c".into(),
            redirect_uri: None,
        };
        assert_eq!(
            head.resolve_redirect(&["https://a/cb".into()]),
            Ok("https://a/cb".into())
        );
        assert_eq!(
            head.resolve_redirect(&["https://a/cb".into(), "https://b/cb".into()]),
            Err(UnredirectableError::MissingRedirectUri)
        );
    }

    #[test]
    fn rfc6749_4_1_2_1_unsupported_response_type_is_redirected() {
        let p = params(&[
            ("client_id", "c"),
            ("response_type", "token"),
            ("state", "s"),
        ]);
        let head = RequestHead::parse(&p).ok();
        let err = head
            .map(|h| AuthorizeRequest::validate(&p, &h, "https://a/cb".into(), &policy()))
            .and_then(|r| r.err());
        assert_eq!(
            err.map(|e| (e.error.code, e.state)),
            Some((ErrorCode::UnsupportedResponseType, Some("s".into())))
        );
    }

    #[test]
    fn oidc_core_3_1_2_1_prompt_none_is_exclusive() {
        assert!(parse_prompt("none login").is_err());
        assert!(parse_prompt("login consent").is_ok());
    }

    #[test]
    fn rfc6749_3_1_duplicate_parameters_rejected() {
        let pairs = vec![
            ("a".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
        ];
        assert!(params_from_pairs(pairs).is_err());
    }

    #[test]
    fn public_clients_need_pkce() {
        let p = params(&[
            ("client_id", "c"),
            ("response_type", "code"),
            ("scope", "openid"),
        ]);
        let head = RequestHead {
            client_id: "c".into(),
            redirect_uri: None,
        };
        let pol = ClientPolicy {
            public: true,
            ..policy()
        };
        let err = AuthorizeRequest::validate(&p, &head, "https://a/cb".into(), &pol).err();
        assert_eq!(err.map(|e| e.error.code), Some(ErrorCode::InvalidRequest));
    }
}
