-- The Users list (src/db/directory.rs, docs/SEARCH.md): how many buildings each user reaches,
-- one index per sort ending in the id, and one trigram index of the searched text.

-- How many buildings each user reaches, kept by the database itself so the Users list can show
-- and sort by it without counting per row: the union of direct grants and the buildings of
-- whole-account grants, or 2147483647 ("all of them") for a group that reaches every building.
ALTER TABLE users ADD COLUMN building_count INTEGER NOT NULL DEFAULT 0;

-- The one definition; the triggers below store it whenever something it reads changes.
CREATE VIEW user_building_reach AS
SELECT u.id AS user_id, CASE
    WHEN EXISTS (SELECT 1 FROM groups g WHERE g.id = u.group_id AND (g.builtin_key = 'admin' OR EXISTS
        (SELECT 1 FROM group_permissions gp WHERE gp.group_id = g.id AND gp.permission = 'buildings.view_all')))
    THEN 2147483647
    ELSE (SELECT COUNT(*) FROM (SELECT ba.building_id FROM building_access ba WHERE ba.user_id = u.id
          UNION SELECT b.id FROM account_access aa JOIN buildings b ON b.account_id = aa.account_id WHERE aa.user_id = u.id))
    END AS building_count
FROM users u;

CREATE TRIGGER building_access_count_insert AFTER INSERT ON building_access BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id = new.user_id;
END;
CREATE TRIGGER building_access_count_delete AFTER DELETE ON building_access BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id = old.user_id;
END;
CREATE TRIGGER account_access_count_insert AFTER INSERT ON account_access BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id = new.user_id;
END;
CREATE TRIGGER account_access_count_delete AFTER DELETE ON account_access BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id = old.user_id;
END;
-- A building added to or taken from an account changes the count of those with a whole-account
-- grant on it (a direct grant on a building goes before the building does).
CREATE TRIGGER buildings_count_insert AFTER INSERT ON buildings BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id IN (SELECT user_id FROM account_access WHERE account_id = new.account_id);
END;
CREATE TRIGGER buildings_count_delete AFTER DELETE ON buildings BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id IN (SELECT user_id FROM account_access WHERE account_id = old.account_id)
       OR id IN (SELECT user_id FROM building_access WHERE building_id = old.id);
END;
CREATE TRIGGER buildings_count_move AFTER UPDATE OF account_id ON buildings WHEN old.account_id <> new.account_id BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id IN (SELECT user_id FROM account_access WHERE account_id IN (old.account_id, new.account_id));
END;
-- A new user in a group that reaches everything, or a user moved to another group.
CREATE TRIGGER users_count_insert AFTER INSERT ON users WHEN EXISTS (SELECT 1 FROM groups g WHERE g.id = new.group_id
    AND (g.builtin_key = 'admin' OR EXISTS (SELECT 1 FROM group_permissions gp WHERE gp.group_id = g.id AND gp.permission = 'buildings.view_all'))) BEGIN
    UPDATE users SET building_count = 2147483647 WHERE id = new.id;
END;
CREATE TRIGGER users_count_group AFTER UPDATE OF group_id ON users WHEN old.group_id <> new.group_id BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE id = new.id;
END;
-- A group given, or no longer given, "reach every building".
CREATE TRIGGER group_permissions_count_insert AFTER INSERT ON group_permissions WHEN new.permission = 'buildings.view_all' BEGIN
    UPDATE users SET building_count = 2147483647 WHERE group_id = new.group_id;
END;
CREATE TRIGGER group_permissions_count_delete AFTER DELETE ON group_permissions WHEN old.permission = 'buildings.view_all' BEGIN
    UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id)
    WHERE group_id = old.group_id;
END;

UPDATE users SET building_count = (SELECT r.building_count FROM user_building_reach r WHERE r.user_id = users.id);
CREATE INDEX users_building_count ON users (building_count, id);

-- One index per sort, each ending in the id; by name and by company are in 000001. Sorted by
-- group, each group's users are read by id, the groups in name order.
DROP INDEX users_group;
CREATE INDEX users_group ON users (group_id, id);
CREATE UNIQUE INDEX groups_name ON groups (name);
CREATE INDEX users_email_sort ON users (email, id);
CREATE INDEX users_status_sort ON users (status, id);
CREATE INDEX users_sign_in_sort ON users (COALESCE(last_sign_in_at, ''), id);
-- Filtered by one status and sorted by name or last sign-in (invited users never signed in, and
-- sorted latest first they would all come after everyone else).
CREATE INDEX users_status_sign_in ON users (status, COALESCE(last_sign_in_at, ''), id);

-- The searched text: name, email and company, lower-cased, each word after two spaces (so one of
-- one or two letters is found at a word's beginning as three characters). A new searchable
-- column is one more term here and in the trigger's list of columns. In an FTS5 trigram index
-- whose rowid is the user's id (it folds every letter's case; SQLite's lower() folds ASCII).
ALTER TABLE users ADD COLUMN search_text TEXT
    GENERATED ALWAYS AS (lower(replace(' ' || first_name || ' ' || last_name || ' ' || email || ' ' || company, ' ', '  '))) VIRTUAL;
CREATE VIRTUAL TABLE users_search USING fts5(doc, tokenize = 'trigram', content = '', contentless_delete = 1);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, doc) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF first_name, last_name, email, company ON users BEGIN
    UPDATE users_search SET doc = new.search_text WHERE rowid = new.id;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.id;
END;
INSERT INTO users_search (rowid, doc) SELECT id, search_text FROM users;
