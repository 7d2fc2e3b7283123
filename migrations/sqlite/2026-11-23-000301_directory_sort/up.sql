-- The Users list sorts by last sign-in with never-signed-in users first; keyset paging needs
-- an index on exactly that expression.
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id);
CREATE INDEX users_email_sort ON users (email, id);
