//! `realmgate-saml` will be the sans-IO SAML 2.0 engine (IdP metadata, AuthnRequest parsing,
//! signed Response/Assertion building, SLO) — the boundary exists now so the app layer's
//! dependencies are already shaped; it depends only on the domain and crypto crates and does no I/O.
