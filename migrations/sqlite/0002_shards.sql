-- Sharding (ADR 0005). The Postgres twin in ../postgres/ also defines `realmgate_enter()` and the
-- grants; the embedded store is always a single shard, but keeps the same tables and columns.

-- Directory ---------------------------------------------------------------------------------------

ALTER TABLE realms ADD COLUMN shard TEXT NOT NULL DEFAULT 'default';
ALTER TABLE realms ADD COLUMN moving_to TEXT;
CREATE INDEX realms_shard ON realms (shard);

CREATE TABLE shards (
    name TEXT NOT NULL,
    weight INTEGER NOT NULL,
    draining INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT shards_pkey PRIMARY KEY (name)
);

-- Per shard ---------------------------------------------------------------------------------------

CREATE TABLE realm_fences (
    realm_id TEXT NOT NULL,
    moved_to TEXT NOT NULL,
    fenced_at BIGINT NOT NULL,
    CONSTRAINT realm_fences_pkey PRIMARY KEY (realm_id)
);
