DROP INDEX users_ends;
DROP INDEX account_access_ends;
DROP INDEX building_access_ends;
ALTER TABLE users DROP COLUMN end_warned;
ALTER TABLE users DROP COLUMN ends_on;
ALTER TABLE account_access DROP COLUMN end_warned;
ALTER TABLE account_access DROP COLUMN ends_on;
ALTER TABLE building_access DROP COLUMN end_warned;
ALTER TABLE building_access DROP COLUMN ends_on;
