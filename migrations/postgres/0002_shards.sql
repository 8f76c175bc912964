-- Sharding (ADR 0005). The SQLite twin in ../sqlite/ has the same tables and columns, without the
-- function, the grants and row-level security (the embedded store is always a single shard).
--
-- Every shard carries the whole schema, so these tables exist on every shard, but `realms.shard`,
-- `realms.moving_to` and `shards` are only read on the directory shard (`database.url`), while
-- `realm_fences` is per shard: the realms that used to live here and moved away. None of them
-- has a foreign key into realm tables; on Citus all three are reference tables (see docs/citus.md).

SET LOCAL realmgate.system = 'on';

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

-- Every realm transaction on a sharded deployment starts with `SELECT realmgate_enter('<realm>')`
-- (in the same round trip as its BEGIN). It takes the realm's advisory lock in shared mode for the
-- rest of the transaction — `realmgate realm move` holds it exclusively while it copies, which
-- waits for in-flight transactions and holds new ones back: the bounded pause — and then fails
-- with SQLSTATE RG001 when the realm has moved off this shard, so the caller re-reads the
-- directory. The lock key is (class 0x52470001, hashtext(realm)): the two-int advisory lock space,
-- apart from sqlx's migration lock. VOLATILE, so the fence lookup after the wait sees what the
-- mover committed while it held the lock.
CREATE OR REPLACE FUNCTION realmgate_enter(realm TEXT) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1380384769, hashtext(realm));
    IF EXISTS (SELECT 1 FROM realm_fences f WHERE f.realm_id = realm) THEN
        RAISE EXCEPTION USING ERRCODE = 'RG001', MESSAGE = 'realm moved',
            DETAIL = 'realm ' || realm || ' no longer lives on this shard';
    END IF;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'realmgate_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON shards, realm_fences TO realmgate_app;
        GRANT EXECUTE ON FUNCTION realmgate_enter(TEXT) TO realmgate_app;
    END IF;
END
$$;
