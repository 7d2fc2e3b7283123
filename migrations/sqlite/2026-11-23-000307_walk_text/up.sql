-- A walk (db::directory, Plan::Walk) tests each entry of the sort's index against the search.
-- It tested the entry's place against the trigram index's matches, which it had to read whole
-- first (every user, for a word in every email); with the searched text, lower-cased, and the
-- group in the index, it tests the entry itself and reads nothing else.
DROP INDEX users_email_sort;
CREATE INDEX users_email_sort ON users (email, id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_company;
CREATE INDEX users_company ON users (company, id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_building_count;
CREATE INDEX users_building_count ON users (building_count, id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_sign_in_sort;
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_status_sort;
CREATE INDEX users_status_sort ON users (status, id, name_order, group_id,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
DROP INDEX users_group_sort;
CREATE INDEX users_group_sort ON users (group_id, id, name_order,
    lower(first_name || ' ' || last_name || ' ' || email || ' ' || company));
ANALYZE users;
