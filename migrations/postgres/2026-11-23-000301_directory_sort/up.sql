-- The Users list sorts by last sign-in with never-signed-in users first; keyset paging needs
-- an index on exactly that expression. Search uses trigram indexes.
CREATE INDEX users_sign_in_sort ON users ((COALESCE(last_sign_in_at, '-infinity'::timestamp)), id);
CREATE INDEX users_email_sort ON users (email, id);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin ((lower(first_name || ' ' || last_name || ' ' || email || ' ' || company)) gin_trgm_ops);
