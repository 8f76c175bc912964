-- A realm's revisions (see the Postgres migration of the same number).
CREATE TABLE realm_revisions (
    realm_id TEXT NOT NULL,
    rev BIGINT NOT NULL,
    keys_rev BIGINT NOT NULL,
    CONSTRAINT realm_revisions_pkey PRIMARY KEY (realm_id)
);
