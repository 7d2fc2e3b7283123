DROP INDEX users_group;
CREATE INDEX users_group ON users (group_id, id);
