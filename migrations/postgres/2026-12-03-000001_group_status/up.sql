-- The group's index holds each user's status (INCLUDE): a group filter's count and its test of
-- status read the index alone. The order, group then id, is the one the group sort walks.
DROP INDEX users_group;
CREATE INDEX users_group ON users (group_id, id) INCLUDE (status);
