//! realmgate-scim
