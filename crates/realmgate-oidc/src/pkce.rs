//! Proof Key for Code Exchange (RFC 7636). Only `S256` is accepted: `plain` offers no protection
//! against an intercepted authorization request (OAuth 2.0 Security BCP §2.1.1).

use crate::OAuthError;

/// RFC 7636 §4.1: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn valid_verifier_or_challenge(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates the authorization request's PKCE parameters (RFC 7636 §4.3).
pub fn check_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    required: bool,
) -> Result<Option<String>, OAuthError> {
    match (challenge, method) {
        (None, None) if required => Err(OAuthError::invalid_request(
            "PKCE is required for this client: send code_challenge with code_challenge_method=S256",
        )),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None) | (Some(_), Some("plain")) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256; plain is not supported",
        )),
        (Some(c), Some("S256")) if valid_verifier_or_challenge(c) => Ok(Some(c.to_owned())),
        (Some(_), Some("S256")) => Err(OAuthError::invalid_request("code_challenge is malformed")),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "unsupported code_challenge_method",
        )),
    }
}

/// RFC 7636 §4.6: the verifier's S256 transform must equal the stored challenge.
pub fn verify(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was used",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "code_verifier is required (PKCE)",
        )),
        (Some(c), Some(v)) => {
            if !valid_verifier_or_challenge(v) {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            let computed = realmgate_crypto::pkce_s256(v);
            if realmgate_crypto::constant_time_eq(computed.as_bytes(), c.as_bytes()) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("PKCE verification failed"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_verifier_matches() {
        assert!(verify(Some(CHALLENGE), Some(VERIFIER)).is_ok());
    }

    #[test]
    fn rfc7636_rejects_wrong_verifier() {
        let wrong = "x".repeat(43);
        assert!(verify(Some(CHALLENGE), Some(&wrong)).is_err());
        assert!(verify(Some(CHALLENGE), None).is_err());
    }

    #[test]
    fn rfc7636_plain_is_refused() {
        assert!(check_challenge(Some(CHALLENGE), Some("plain"), false).is_err());
        assert!(check_challenge(Some(CHALLENGE), None, false).is_err());
        assert!(check_challenge(None, None, true).is_err());
        assert!(check_challenge(Some(CHALLENGE), Some("S256"), true).is_ok());
    }
}
