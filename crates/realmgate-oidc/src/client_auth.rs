//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3.1, RFC 7523 §2.2 / OIDC Core §9 `private_key_jwt`).

use crate::OAuthError;
use base64::Engine;
use std::collections::BTreeMap;

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credentials a request presented, before they are checked against the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `client_secret_basic`.
    Basic { client_id: String, secret: String },
    /// `client_secret_post`.
    Post { client_id: String, secret: String },
    /// `private_key_jwt`: the client id comes from the assertion's `iss`/`sub` (or the form).
    Assertion {
        client_id: String,
        assertion: String,
    },
    /// A public client identifying itself only by `client_id`.
    None { client_id: String },
}

impl ClientCredentials {
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::Assertion { client_id, .. }
            | Self::None { client_id } => client_id,
        }
    }
    pub fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "client_secret_basic",
            Self::Post { .. } => "client_secret_post",
            Self::Assertion { .. } => "private_key_jwt",
            Self::None { .. } => "none",
        }
    }
}

/// Extracts exactly one client authentication method from the Authorization header and form.
/// RFC 6749 §2.3: a client MUST NOT use more than one method in a request.
pub fn extract(
    authorization: Option<&str>,
    form: &BTreeMap<String, String>,
) -> Result<ClientCredentials, OAuthError> {
    let form_id = form.get("client_id").filter(|s| !s.is_empty());
    let form_secret = form.get("client_secret").filter(|s| !s.is_empty());
    let assertion = form.get("client_assertion").filter(|s| !s.is_empty());
    let basic = authorization.and_then(|h| {
        let (scheme, rest) = h.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| rest.trim().to_owned())
    });

    let methods = [basic.is_some(), form_secret.is_some(), assertion.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "more than one client authentication method was used",
        ));
    }

    if let Some(b64) = basic {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
        let text = String::from_utf8(raw)
            .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
        let (id, secret) = text
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
        // RFC 6749 §2.3.1: both parts are application/x-www-form-urlencoded.
        let id = form_decode(id)?;
        let secret = form_decode(secret)?;
        if let Some(fid) = form_id
            && *fid != id
        {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Basic credentials",
            ));
        }
        return Ok(ClientCredentials::Basic {
            client_id: id,
            secret,
        });
    }
    if let Some(assertion) = assertion {
        match form.get("client_assertion_type").map(String::as_str) {
            Some(JWT_BEARER_ASSERTION) => {}
            _ => {
                return Err(OAuthError::invalid_request(
                    "unsupported client_assertion_type",
                ));
            }
        }
        let client_id = match form_id {
            Some(id) => id.clone(),
            None => assertion_issuer(assertion)?,
        };
        return Ok(ClientCredentials::Assertion {
            client_id,
            assertion: assertion.clone(),
        });
    }
    let client_id =
        form_id.ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
    match form_secret {
        Some(secret) => Ok(ClientCredentials::Post {
            client_id: client_id.clone(),
            secret: secret.clone(),
        }),
        None => Ok(ClientCredentials::None {
            client_id: client_id.clone(),
        }),
    }
}

fn form_decode(s: &str) -> Result<String, OAuthError> {
    let replaced = s.replace('+', " ");
    url::form_urlencoded::parse(format!("x={replaced}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))
}

fn assertion_issuer(assertion: &str) -> Result<String, OAuthError> {
    let parts = realmgate_crypto::decode_unverified(assertion)
        .map_err(|_| OAuthError::invalid_client("client_assertion is not a valid JWT"))?;
    parts
        .claims
        .get("sub")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::invalid_client("client_assertion has no sub"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn rfc6749_2_3_1_basic_credentials_are_form_decoded() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret")
        );
        let got = extract(Some(&header), &BTreeMap::new()).ok();
        assert_eq!(
            got,
            Some(ClientCredentials::Basic {
                client_id: "my app".into(),
                secret: "s:cret".into()
            })
        );
    }

    #[test]
    fn rfc6749_2_3_one_method_only() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("a:b")
        );
        let mut form = BTreeMap::new();
        form.insert("client_secret".to_string(), "b".to_string());
        form.insert("client_id".to_string(), "a".to_string());
        assert_eq!(
            extract(Some(&header), &form).err().map(|e| e.code),
            Some(ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn missing_credentials_is_invalid_client() {
        assert_eq!(
            extract(None, &BTreeMap::new()).err().map(|e| e.code),
            Some(ErrorCode::InvalidClient)
        );
    }
}
