-- The walk's indexes (000307 on SQLite) are SQLite's own. Invited users have never signed in:
-- sorted by last sign-in, latest first, they all come last, and the list filtered by status
-- read every user before them. By status, then last sign-in.
CREATE INDEX users_status_sign_in ON users (status, (COALESCE(last_sign_in_at, '-infinity'::timestamp)), id);
