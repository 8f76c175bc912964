//! Column lists shared by the repositories, as macros so they can be `concat!`ed into static SQL.
//! Each aliases its table (`u`, `c`, `r`, `g`, `o`) and names every column with `AS`, so decoding
//! by name works the same on both backends.

macro_rules! user_cols {
    () => {
        "u.id AS id, u.username AS username, u.email AS email, \
         u.email_verified AS email_verified, u.first_name AS first_name, \
         u.last_name AS last_name, u.enabled AS enabled, u.attributes AS attributes, \
         u.service_account_client AS service_account_client, u.created_at AS created_at"
    };
}

macro_rules! client_cols {
    () => {
        "c.id AS id, c.client_id AS client_id, c.name AS name, c.description AS description, \
         c.enabled AS enabled, c.auth_method AS auth_method, c.secret_sealed AS secret_sealed, \
         c.redirect_uris AS redirect_uris, \
         c.post_logout_redirect_uris AS post_logout_redirect_uris, \
         c.web_origins AS web_origins, c.root_url AS root_url, c.base_url AS base_url, \
         c.bearer_only AS bearer_only, c.consent_required AS consent_required, \
         c.standard_flow AS standard_flow, c.direct_access_grants AS direct_access_grants, \
         c.service_accounts AS service_accounts, c.full_scope_allowed AS full_scope_allowed, \
         c.optional_scopes AS optional_scopes, c.default_scopes AS default_scopes, \
         c.attributes AS attributes, c.created_at AS created_at"
    };
}

macro_rules! role_cols {
    () => {
        "r.id AS id, r.client_uuid AS client_uuid, r.name AS name, \
         r.description AS description, r.attributes AS attributes"
    };
}

macro_rules! group_cols {
    () => {
        "g.id AS id, g.parent_id AS parent_id, g.name AS name, g.path AS path, \
         g.attributes AS attributes"
    };
}

macro_rules! org_cols {
    () => {
        "o.id AS id, o.name AS name, o.alias AS alias, o.description AS description, \
         o.enabled AS enabled, o.domains AS domains, o.attributes AS attributes, \
         o.created_at AS created_at"
    };
}

/// The columns of a left-joined `user_sessions s`, prefixed `s_` (read by
/// `users::session_from_prefixed_row`).
macro_rules! session_cols_prefixed {
    () => {
        "s.id AS s_id, s.user_id AS s_user_id, s.auth_time AS s_auth_time, \
         s.last_seen AS s_last_seen, s.expires_at AS s_expires_at, s.amr AS s_amr, \
         s.revoked AS s_revoked"
    };
}
