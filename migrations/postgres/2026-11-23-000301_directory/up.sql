-- The Users list (src/db/directory.rs, docs/SEARCH.md): how many buildings each user reaches,
-- one index per sort ending in the id, and one trigram index of the searched text.

-- How many buildings each user reaches, kept by the database itself so the Users list can show
-- and sort by it without counting per row: the union of direct grants and the buildings of
-- whole-account grants, or 2147483647 ("all of them") for a group that reaches every building.
ALTER TABLE users ADD COLUMN building_count BIGINT NOT NULL DEFAULT 0;

-- The one definition; the triggers below store it whenever something it reads changes.
CREATE VIEW user_building_reach AS
SELECT u.id AS user_id, CASE
    WHEN EXISTS (SELECT 1 FROM groups g WHERE g.id = u.group_id AND (g.builtin_key = 'admin' OR EXISTS
        (SELECT 1 FROM group_permissions gp WHERE gp.group_id = g.id AND gp.permission = 'buildings.view_all')))
    THEN 2147483647
    ELSE (SELECT COUNT(*) FROM (SELECT ba.building_id FROM building_access ba WHERE ba.user_id = u.id
          UNION SELECT b.id FROM account_access aa JOIN buildings b ON b.account_id = aa.account_id WHERE aa.user_id = u.id) reach)
    END AS building_count
FROM users u;

CREATE FUNCTION recount_buildings_of_users(ids BIGINT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE users.id = ANY(ids)
$$;

CREATE FUNCTION access_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM recount_buildings_of_users(ARRAY[OLD.user_id]);
    ELSE
        PERFORM recount_buildings_of_users(ARRAY[NEW.user_id]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER building_access_count AFTER INSERT OR DELETE ON building_access FOR EACH ROW EXECUTE FUNCTION access_count();
CREATE TRIGGER account_access_count AFTER INSERT OR DELETE ON account_access FOR EACH ROW EXECUTE FUNCTION access_count();

-- A building added to or taken from an account changes the count of those with a whole-account
-- grant on it (a direct grant on a building goes before the building does).
CREATE FUNCTION buildings_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM recount_buildings_of_users(ARRAY(SELECT user_id FROM account_access WHERE account_id = NEW.account_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM recount_buildings_of_users(ARRAY(SELECT user_id FROM account_access WHERE account_id = OLD.account_id
            UNION SELECT user_id FROM building_access WHERE building_id = OLD.id));
    ELSE
        PERFORM recount_buildings_of_users(ARRAY(SELECT user_id FROM account_access
            WHERE account_id IN (OLD.account_id, NEW.account_id)));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER buildings_count AFTER INSERT OR DELETE ON buildings FOR EACH ROW EXECUTE FUNCTION buildings_count();
CREATE TRIGGER buildings_count_move AFTER UPDATE OF account_id ON buildings
    FOR EACH ROW WHEN (OLD.account_id <> NEW.account_id) EXECUTE FUNCTION buildings_count();

-- A new user (no grants yet: only their group can reach anything), or a user moved to another group.
CREATE FUNCTION users_count_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM groups g WHERE g.id = NEW.group_id AND (g.builtin_key = 'admin' OR EXISTS
        (SELECT 1 FROM group_permissions gp WHERE gp.group_id = g.id AND gp.permission = 'buildings.view_all'))) THEN
        NEW.building_count := 2147483647;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_count_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_count_new();
CREATE FUNCTION users_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM recount_buildings_of_users(ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER users_count_group AFTER UPDATE OF group_id ON users
    FOR EACH ROW WHEN (OLD.group_id <> NEW.group_id) EXECUTE FUNCTION users_count();

-- A group given, or no longer given, "reach every building".
CREATE FUNCTION group_permissions_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gid BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.group_id ELSE NEW.group_id END;
BEGIN
    PERFORM recount_buildings_of_users(ARRAY(SELECT id FROM users WHERE group_id = gid));
    RETURN NULL;
END $$;
CREATE TRIGGER group_permissions_count_insert AFTER INSERT ON group_permissions
    FOR EACH ROW WHEN (NEW.permission = 'buildings.view_all') EXECUTE FUNCTION group_permissions_count();
CREATE TRIGGER group_permissions_count_delete AFTER DELETE ON group_permissions
    FOR EACH ROW WHEN (OLD.permission = 'buildings.view_all') EXECUTE FUNCTION group_permissions_count();

UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id);
CREATE INDEX users_building_count ON users (building_count, id);

-- One index per sort, each ending in the id; by name and by company are in 000001. Sorted by
-- group, each group's users are read by id, the groups in name order.
DROP INDEX users_group;
CREATE INDEX users_group ON users (group_id, id);
CREATE UNIQUE INDEX groups_name ON groups (name);
CREATE INDEX users_email_sort ON users (email, id);
CREATE INDEX users_status_sort ON users (status, id);
CREATE INDEX users_sign_in_sort ON users ((COALESCE(last_sign_in_at, '-infinity'::timestamp)), id);
-- Filtered by one status and sorted by name or last sign-in (invited users never signed in, and
-- sorted latest first they would all come after everyone else).
CREATE INDEX users_status_sign_in ON users (status, (COALESCE(last_sign_in_at, '-infinity'::timestamp)), id);

-- The searched text: name, email and company, lower-cased, each word after two spaces (so one of
-- one or two letters is found at a word's beginning as three characters). A new searchable
-- column is one more term here. Kept in the row (PostgreSQL has no virtual columns), in a
-- trigram GIN index.
ALTER TABLE users ADD COLUMN search_text TEXT
    GENERATED ALWAYS AS (lower(replace(' ' || first_name || ' ' || last_name || ' ' || email || ' ' || company, ' ', '  '))) STORED;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search ON users USING gin (search_text gin_trgm_ops);
