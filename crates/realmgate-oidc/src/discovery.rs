//! OpenID Provider metadata (OIDC Discovery 1.0 §3) and OAuth 2.0 Authorization Server metadata
//! (RFC 8414 §2), with Keycloak's endpoint paths.

use serde_json::{Value, json};

/// The metadata document for one realm. `issuer` is `{public_url}/realms/{realm}` exactly.
pub fn metadata(issuer: &str, signing_algs: &[&str]) -> Value {
    let oidc = format!("{issuer}/protocol/openid-connect");
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oidc}/auth"),
        "token_endpoint": format!("{oidc}/token"),
        "introspection_endpoint": format!("{oidc}/token/introspect"),
        "userinfo_endpoint": format!("{oidc}/userinfo"),
        "end_session_endpoint": format!("{oidc}/logout"),
        "revocation_endpoint": format!("{oidc}/revoke"),
        "jwks_uri": format!("{oidc}/certs"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", "password"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing_algs,
        "userinfo_signing_alg_values_supported": ["none"],
        "request_object_signing_alg_values_supported": ["none"],
        "authorization_signing_alg_values_supported": signing_algs,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": signing_algs,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": signing_algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": signing_algs,
        "claims_supported": [
            "aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username",
            "email", "email_verified", "acr", "amr", "sid", "tenant_id"
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "scopes_supported": ["openid", "profile", "email", "roles", "offline_access"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "code_challenge_methods_supported": ["S256"],
        "tls_client_certificate_bound_access_tokens": false,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent"],
    })
}
