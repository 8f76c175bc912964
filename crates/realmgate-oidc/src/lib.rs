//! `realmgate-oidc` is the sans-IO OpenID Connect / OAuth 2.0 engine: it parses and validates
//! authorization, token, introspection and revocation requests, defines the error codes of
//! RFC 6749 §4.1.2.1 and §5.2, the claims of ID tokens and RFC 9068 access tokens, and builds
//! discovery documents and redirect responses. It performs no I/O — no database, no HTTP server —
//! so each rule is testable against the RFC text; the app layer does the lookups.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod pkce;
pub mod redirect;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};
