-- Realmgate initial schema (SQLite). The Postgres twin in ../postgres/ differs only in BYTEA vs
-- BLOB, the application role and the row-level security policies; keep the two in step.
--
-- Portable types only: TEXT ids (UUID strings), BIGINT epoch seconds, INTEGER 0/1 booleans, TEXT
-- holding JSON, BLOB for sealed secrets (never BOOLEAN/TIMESTAMP columns: the sqlx Any driver
-- rejects rows containing them). realm_id leads every key, index and foreign key.

-- Directory ---------------------------------------------------------------------------------------

CREATE TABLE realms (
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT,
    enabled INTEGER NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT realms_pkey PRIMARY KEY (id),
    CONSTRAINT realms_name UNIQUE (name)
);

-- Clients, users, credentials ---------------------------------------------------------------------

CREATE TABLE clients (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    name TEXT,
    description TEXT,
    enabled INTEGER NOT NULL,
    auth_method TEXT NOT NULL,
    secret_sealed BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    web_origins TEXT NOT NULL,
    root_url TEXT,
    base_url TEXT,
    bearer_only INTEGER NOT NULL,
    consent_required INTEGER NOT NULL,
    standard_flow INTEGER NOT NULL,
    direct_access_grants INTEGER NOT NULL,
    service_accounts INTEGER NOT NULL,
    full_scope_allowed INTEGER NOT NULL,
    optional_scopes TEXT NOT NULL,
    default_scopes TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT clients_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT clients_client_id UNIQUE (realm_id, client_id)
);

CREATE TABLE users (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    email TEXT,
    email_verified INTEGER NOT NULL,
    first_name TEXT,
    last_name TEXT,
    enabled INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    service_account_client TEXT,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT users_username UNIQUE (realm_id, username),
    CONSTRAINT users_email UNIQUE (realm_id, email),
    CONSTRAINT users_service_account UNIQUE (realm_id, service_account_client),
    CONSTRAINT users_service_account_fk FOREIGN KEY (realm_id, service_account_client)
        REFERENCES clients (realm_id, id) ON DELETE CASCADE
);

CREATE TABLE credentials (
    realm_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT credentials_pkey PRIMARY KEY (realm_id, user_id, type),
    CONSTRAINT credentials_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE
);

-- Roles -------------------------------------------------------------------------------------------

CREATE TABLE roles (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    client_uuid TEXT,
    name TEXT NOT NULL,
    description TEXT,
    attributes TEXT NOT NULL,
    CONSTRAINT roles_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT roles_client_fk FOREIGN KEY (realm_id, client_uuid)
        REFERENCES clients (realm_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX roles_realm_name ON roles (realm_id, name) WHERE client_uuid IS NULL;
CREATE UNIQUE INDEX roles_client_name ON roles (realm_id, client_uuid, name) WHERE client_uuid IS NOT NULL;

CREATE TABLE role_composites (
    realm_id TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    child_id TEXT NOT NULL,
    CONSTRAINT role_composites_pkey PRIMARY KEY (realm_id, parent_id, child_id),
    CONSTRAINT role_composites_parent_fk FOREIGN KEY (realm_id, parent_id)
        REFERENCES roles (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT role_composites_child_fk FOREIGN KEY (realm_id, child_id)
        REFERENCES roles (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX role_composites_child ON role_composites (realm_id, child_id);

CREATE TABLE user_roles (
    realm_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (realm_id, user_id, role_id),
    CONSTRAINT user_roles_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fk FOREIGN KEY (realm_id, role_id)
        REFERENCES roles (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_role ON user_roles (realm_id, role_id);

-- Groups ------------------------------------------------------------------------------------------

CREATE TABLE groups (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    attributes TEXT NOT NULL,
    CONSTRAINT groups_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT groups_path UNIQUE (realm_id, path),
    CONSTRAINT groups_parent_fk FOREIGN KEY (realm_id, parent_id)
        REFERENCES groups (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX groups_parent ON groups (realm_id, parent_id);

CREATE TABLE group_roles (
    realm_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    CONSTRAINT group_roles_pkey PRIMARY KEY (realm_id, group_id, role_id),
    CONSTRAINT group_roles_group_fk FOREIGN KEY (realm_id, group_id)
        REFERENCES groups (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT group_roles_role_fk FOREIGN KEY (realm_id, role_id)
        REFERENCES roles (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX group_roles_role ON group_roles (realm_id, role_id);

CREATE TABLE user_groups (
    realm_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    CONSTRAINT user_groups_pkey PRIMARY KEY (realm_id, user_id, group_id),
    CONSTRAINT user_groups_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT user_groups_group_fk FOREIGN KEY (realm_id, group_id)
        REFERENCES groups (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX user_groups_group ON user_groups (realm_id, group_id);

-- Organizations -----------------------------------------------------------------------------------

CREATE TABLE organizations (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL,
    domains TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT organizations_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT organizations_name UNIQUE (realm_id, name),
    CONSTRAINT organizations_alias UNIQUE (realm_id, alias)
);

CREATE TABLE org_members (
    realm_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT org_members_pkey PRIMARY KEY (realm_id, org_id, user_id),
    CONSTRAINT org_members_org_fk FOREIGN KEY (realm_id, org_id)
        REFERENCES organizations (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT org_members_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX org_members_user ON org_members (realm_id, user_id);

-- Keys --------------------------------------------------------------------------------------------

CREATE TABLE signing_keys (
    realm_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    alg TEXT NOT NULL,
    status TEXT NOT NULL,
    private_sealed BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (realm_id, kid)
);

-- Sessions, codes, tokens -------------------------------------------------------------------------

CREATE TABLE user_sessions (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    amr TEXT NOT NULL,
    revoked INTEGER NOT NULL,
    CONSTRAINT user_sessions_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT user_sessions_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX user_sessions_user ON user_sessions (realm_id, user_id);
CREATE INDEX user_sessions_expires ON user_sessions (realm_id, expires_at);

CREATE TABLE auth_codes (
    realm_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    client_uuid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    family_id TEXT NOT NULL,
    consumed_at BIGINT,
    CONSTRAINT auth_codes_pkey PRIMARY KEY (realm_id, code_hash),
    CONSTRAINT auth_codes_client_fk FOREIGN KEY (realm_id, client_uuid)
        REFERENCES clients (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT auth_codes_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT auth_codes_session_fk FOREIGN KEY (realm_id, session_id)
        REFERENCES user_sessions (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX auth_codes_client ON auth_codes (realm_id, client_uuid);
CREATE INDEX auth_codes_user ON auth_codes (realm_id, user_id);
CREATE INDEX auth_codes_session ON auth_codes (realm_id, session_id);
CREATE INDEX auth_codes_expires ON auth_codes (realm_id, expires_at);

CREATE TABLE token_families (
    realm_id TEXT NOT NULL,
    id TEXT NOT NULL,
    client_uuid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT,
    revoked_at BIGINT,
    expires_at BIGINT NOT NULL,
    CONSTRAINT token_families_pkey PRIMARY KEY (realm_id, id),
    CONSTRAINT token_families_client_fk FOREIGN KEY (realm_id, client_uuid)
        REFERENCES clients (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT token_families_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT token_families_session_fk FOREIGN KEY (realm_id, session_id)
        REFERENCES user_sessions (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX token_families_client ON token_families (realm_id, client_uuid);
CREATE INDEX token_families_user ON token_families (realm_id, user_id);
CREATE INDEX token_families_session ON token_families (realm_id, session_id);
CREATE INDEX token_families_expires ON token_families (realm_id, expires_at);

CREATE TABLE refresh_tokens (
    realm_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    family_id TEXT NOT NULL,
    client_uuid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (realm_id, token_hash),
    CONSTRAINT refresh_tokens_family_fk FOREIGN KEY (realm_id, family_id)
        REFERENCES token_families (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (realm_id, family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (realm_id, expires_at);

CREATE TABLE revoked_tokens (
    realm_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT revoked_tokens_pkey PRIMARY KEY (realm_id, jti)
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (realm_id, expires_at);

-- Consents, brute force ---------------------------------------------------------------------------

CREATE TABLE consents (
    realm_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    client_uuid TEXT NOT NULL,
    scopes TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (realm_id, user_id, client_uuid),
    CONSTRAINT consents_user_fk FOREIGN KEY (realm_id, user_id)
        REFERENCES users (realm_id, id) ON DELETE CASCADE,
    CONSTRAINT consents_client_fk FOREIGN KEY (realm_id, client_uuid)
        REFERENCES clients (realm_id, id) ON DELETE CASCADE
);
CREATE INDEX consents_client ON consents (realm_id, client_uuid);

CREATE TABLE login_failures (
    realm_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (realm_id, subject)
);
