-- A walk (db::directory, Plan::Walk) reads the sort's index in order and tests each entry: the
-- search against the searched text, lower-cased, and the filters against the group and status,
-- all in the entry, so a row is read only for a match. (A search tested each entry's place
-- against the trigram index's matches, which it had to read whole first: every user, for a word
-- in every email. A group or status filter read the filtered users and sorted them all.)
DROP INDEX users_name;
CREATE INDEX users_name ON users (last_name, first_name, id, group_id, status);
DROP INDEX users_email_sort;
CREATE INDEX users_email_sort ON users (email, id, name_order, group_id, status,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_company;
CREATE INDEX users_company ON users (company, id, name_order, group_id, status,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_building_count;
CREATE INDEX users_building_count ON users (building_count, id, name_order, group_id, status,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_sign_in_sort;
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id, name_order, group_id, status,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_status_sort;
CREATE INDEX users_status_sort ON users (status, id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_group_sort;
CREATE INDEX users_group_sort ON users (group_id, id, name_order, status,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
-- Invited users have never signed in: sorted by last sign-in, latest first, they all come last,
-- and a walk filtered by status would pass everyone else first. By status, then last sign-in.
CREATE INDEX users_status_sign_in ON users (status, COALESCE(last_sign_in_at, ''), id);
ANALYZE users;
