//! The app layer's error: each variant is rendered once, at the HTTP edge, in the format of the
//! surface that raised it (OAuth JSON, problem+json, an HTML page).

use realmgate_oidc::OAuthError;
use realmgate_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A protocol error with its OAuth code.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    /// The password pool is saturated; retry shortly.
    #[error("the server is busy, try again shortly")]
    Overloaded,
    /// Unexpected failure; the message goes to logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Self::Internal(msg.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(what) => Self::Conflict(conflict_message(what)),
            other => Self::Internal(chain(&other)),
        }
    }
}

/// An error and its sources, for the one log line an internal error gets.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

impl From<realmgate_crypto::CryptoError> for AppError {
    fn from(e: realmgate_crypto::CryptoError) -> Self {
        match e {
            realmgate_crypto::CryptoError::Overloaded => Self::Overloaded,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<realmgate_domain::DomainError> for AppError {
    fn from(e: realmgate_domain::DomainError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// Turns a constraint name from the store into the message Keycloak clients expect.
fn conflict_message(what: &str) -> String {
    match what {
        "realms_name" => "Realm with same name exists".to_owned(),
        "users_username" => "User exists with same username".to_owned(),
        "users_email" => "User exists with same email".to_owned(),
        "clients_client_id" => "Client already exists".to_owned(),
        "roles_name" | "roles_realm_name" | "roles_client_name" => {
            "Role with the same name already exists".to_owned()
        }
        "groups_path" => "Top level group named already exists.".to_owned(),
        "organizations_name" | "organizations_alias" => {
            "An organization with the same name or alias already exists".to_owned()
        }
        "org_members" => "User is already a member of the organization.".to_owned(),
        other => format!("conflict: {other}"),
    }
}
