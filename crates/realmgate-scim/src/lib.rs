//! `realmgate-scim` will be the sans-IO SCIM 2.0 engine (RFC 7643 resources, RFC 7644 filters,
//! PATCH, list responses and the SCIM error schema) — the boundary exists now; it depends only on
//! the domain crate and does no I/O.
