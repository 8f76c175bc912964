//! What the crate's unit tests share.

use realmgate_domain::{User, UserId};

/// An enabled user named `username`, not yet stored, with nothing else set.
pub fn user(username: &str) -> User {
    User {
        id: UserId::new(),
        username: username.into(),
        email: None,
        email_verified: false,
        first_name: None,
        last_name: None,
        enabled: true,
        attributes: Default::default(),
        service_account_client: None,
        created_at: 1_800_000_000,
    }
}
