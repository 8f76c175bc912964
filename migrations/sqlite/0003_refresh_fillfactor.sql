-- Postgres sets a fillfactor on refresh_tokens here (HOT updates on rotation); SQLite has no such
-- setting. The file keeps both backends' migration versions in step.
SELECT 1;
