//! realmgate-saml
