-- A search sorted by group that matches many users walks the groups in name order and each
-- group's users by id, in one pass (db::directory, Plan::Walk). Names are already unique in
-- any case (groups_name_lower), so they are unique as written.
CREATE UNIQUE INDEX groups_name ON groups (name);
-- Statistics for the new index: without them SQLite 3.53 misjudged the other users queries.
ANALYZE groups;
