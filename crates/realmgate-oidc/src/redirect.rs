//! Building the authorization response (RFC 6749 §4.1.2, OAuth 2.0 Multiple Response Types §2,
//! Form Post Response Mode, RFC 9207 `iss`).

use crate::OAuthError;
use crate::authorize::ResponseMode;

/// How the user agent is sent back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationResponse {
    /// A 302/303 to this URL.
    Redirect(String),
    /// An auto-submitting HTML form POSTing these fields to `action`.
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
}

pub fn success(
    redirect_uri: &str,
    mode: ResponseMode,
    code: &str,
    state: Option<&str>,
    issuer: &str,
    session_state: Option<&str>,
) -> AuthorizationResponse {
    let mut fields = vec![("code".to_owned(), code.to_owned())];
    if let Some(s) = state {
        fields.push(("state".to_owned(), s.to_owned()));
    }
    if let Some(s) = session_state {
        fields.push(("session_state".to_owned(), s.to_owned()));
    }
    fields.push(("iss".to_owned(), issuer.to_owned()));
    build(redirect_uri, mode, fields)
}

pub fn error(
    redirect_uri: &str,
    mode: ResponseMode,
    err: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> AuthorizationResponse {
    let mut fields = vec![("error".to_owned(), err.code.as_str().to_owned())];
    if let Some(d) = &err.description {
        fields.push(("error_description".to_owned(), d.clone()));
    }
    if let Some(s) = state {
        fields.push(("state".to_owned(), s.to_owned()));
    }
    fields.push(("iss".to_owned(), issuer.to_owned()));
    build(redirect_uri, mode, fields)
}

fn build(
    redirect_uri: &str,
    mode: ResponseMode,
    fields: Vec<(String, String)>,
) -> AuthorizationResponse {
    match mode {
        ResponseMode::FormPost => AuthorizationResponse::FormPost {
            action: redirect_uri.to_owned(),
            fields,
        },
        ResponseMode::Query => {
            let encoded = encode(&fields);
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            AuthorizationResponse::Redirect(format!("{redirect_uri}{sep}{encoded}"))
        }
        ResponseMode::Fragment => {
            AuthorizationResponse::Redirect(format!("{redirect_uri}#{}", encode(&fields)))
        }
    }
}

fn encode(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish()
}

/// Appends query parameters to a URI that may already carry a query (e.g. post-logout redirects).
pub fn append_query(uri: &str, fields: &[(String, String)]) -> String {
    if fields.is_empty() {
        return uri.to_owned();
    }
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", encode(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6749_4_1_2_keeps_existing_query() {
        let r = success(
            "https://a/cb?x=1",
            ResponseMode::Query,
            "c0de",
            Some("st"),
            "https://i",
            None,
        );
        assert_eq!(
            r,
            AuthorizationResponse::Redirect(
                "https://a/cb?x=1&code=c0de&state=st&iss=https%3A%2F%2Fi".into()
            )
        );
    }

    #[test]
    fn fragment_mode_uses_fragment() {
        let r = success("https://a/cb", ResponseMode::Fragment, "c", None, "i", None);
        assert_eq!(
            r,
            AuthorizationResponse::Redirect("https://a/cb#code=c&iss=i".into())
        );
    }
}
