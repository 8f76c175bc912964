//! Token endpoint requests (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6).

use crate::{ErrorCode, OAuthError};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
}

impl Grant {
    pub fn name(&self) -> &'static str {
        match self {
            Self::AuthorizationCode { .. } => "authorization_code",
            Self::RefreshToken { .. } => "refresh_token",
            Self::ClientCredentials { .. } => "client_credentials",
            Self::Password { .. } => "password",
        }
    }

    pub fn parse(form: &BTreeMap<String, String>) -> Result<Self, OAuthError> {
        let get = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let require =
            |k: &str| get(k).ok_or_else(|| OAuthError::invalid_request(format!("{k} is required")));
        match form.get("grant_type").map(String::as_str) {
            None | Some("") => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: require("code")?,
                redirect_uri: get("redirect_uri"),
                code_verifier: get("code_verifier"),
            }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: require("refresh_token")?,
                scope: get("scope"),
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials {
                scope: get("scope"),
            }),
            Some("password") => Ok(Self::Password {
                username: require("username")?,
                password: form
                    .get("password")
                    .cloned()
                    .ok_or_else(|| OAuthError::invalid_request("password is required"))?,
                scope: get("scope"),
            }),
            Some(other) => Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type '{other}' is not supported"),
            )),
        }
    }
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    #[serde(rename = "not-before-policy")]
    pub not_before_policy: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rfc6749_5_2_unknown_grant_type() {
        let err = Grant::parse(&form(&[("grant_type", "urn:x")]))
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(ErrorCode::UnsupportedGrantType));
    }

    #[test]
    fn rfc6749_4_1_3_code_is_required() {
        let err = Grant::parse(&form(&[("grant_type", "authorization_code")]))
            .err()
            .map(|e| e.code);
        assert_eq!(err, Some(ErrorCode::InvalidRequest));
    }
}
