-- A realm's revisions: `rev` bumped by every realm transaction that changed what the nodes cache
-- under the safety TTL (clients, roles and their mappings, groups, organisations, users),
-- `keys_rev` by every one that changed its signing keys, in that transaction, just before its
-- commit. Apart, because a realm's keys are created on first use: its first token would
-- otherwise date every entry cached for it. A node re-validates a cached entry by comparing the
-- revision it was loaded at with this row, for many realms in one statement, instead of
-- re-reading the entry. The row is realm data like any other: realm_id leads its key, row-level
-- security scopes it, a realm move copies it and a realm purge deletes it. No trigger keeps it
-- (Citus): the store's write methods mark their transaction instead.

SET LOCAL realmgate.system = 'on';

CREATE TABLE realm_revisions (
    realm_id TEXT NOT NULL,
    rev BIGINT NOT NULL,
    keys_rev BIGINT NOT NULL,
    CONSTRAINT realm_revisions_pkey PRIMARY KEY (realm_id)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'realmgate_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON realm_revisions TO realmgate_app;
    END IF;
END
$$;

ALTER TABLE realm_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE realm_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY realm_revisions_realm_isolation ON realm_revisions USING (
    realm_id = current_setting('realmgate.realm_id', true)
    OR current_setting('realmgate.system', true) = 'on'
) WITH CHECK (
    realm_id = current_setting('realmgate.realm_id', true)
    OR current_setting('realmgate.system', true) = 'on'
);
