//! realmgate-testkit
