DROP INDEX users_status_sort;
DROP INDEX users_email_sort;
CREATE INDEX users_email_sort ON users (email, id);
DROP INDEX users_company;
CREATE INDEX users_company ON users (company, id);
DROP INDEX users_building_count;
CREATE INDEX users_building_count ON users (building_count, id);
DROP INDEX users_sign_in_sort;
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id);
