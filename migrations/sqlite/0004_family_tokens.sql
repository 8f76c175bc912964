-- Refresh tokens as token-family generations (see the Postgres migration of the same number).
ALTER TABLE token_families ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE token_families ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE token_families ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';
ALTER TABLE token_families ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE token_families ADD COLUMN idle_expires_at BIGINT NOT NULL DEFAULT 0;
