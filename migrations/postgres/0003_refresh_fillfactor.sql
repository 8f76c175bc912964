-- Refresh rotation updates the presented token's `rotated_at` (not indexed) in the statement that
-- inserts its successor. Free space on each page lets Postgres make that update a HOT update
-- (no new index entries); with full pages every rotation wrote three extra index entries.
-- Applies to pages written from now on.
ALTER TABLE refresh_tokens SET (fillfactor = 70);
ALTER TABLE token_families SET (fillfactor = 90);
