-- A search sorted by email, company, group, status, buildings or last sign-in that matches many
-- users walks that sort's index and tests each row's place in the name order against the
-- matches (db::directory, Plan::Walk). With the place in the index, a row is read only when it
-- matches.
DROP INDEX users_email_sort;
CREATE INDEX users_email_sort ON users (email, id, name_order);
DROP INDEX users_company;
CREATE INDEX users_company ON users (company, id, name_order);
DROP INDEX users_building_count;
CREATE INDEX users_building_count ON users (building_count, id, name_order);
DROP INDEX users_sign_in_sort;
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id, name_order);
CREATE INDEX users_status_sort ON users (status, id, name_order);
CREATE INDEX users_group_sort ON users (group_id, id, name_order);
ANALYZE users;
