-- Refresh tokens as token-family generations. A family issued from now on carries its grant
-- (scope, auth_time, amr) and the generation of its one valid refresh token; the token is
-- family id, generation and a MAC, so a rotation is one HOT update of this row (generation and
-- idle_expires_at are not indexed) instead of an update plus an insert into refresh_tokens.
-- Families issued before this migration keep generation 0: their tokens stay rows of
-- refresh_tokens until first rotated, which moves the family to generation 1.
ALTER TABLE token_families
    ADD COLUMN generation BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN scope TEXT NOT NULL DEFAULT '',
    ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN amr TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN issued_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN idle_expires_at BIGINT NOT NULL DEFAULT 0;
-- Room on each page for the rotation's new row version (HOT needs it on the same page).
ALTER TABLE token_families SET (fillfactor = 70);
