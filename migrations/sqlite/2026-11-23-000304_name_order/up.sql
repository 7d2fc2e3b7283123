-- Searches sorted by name, the list's default, read the trigram index in name order and stop
-- after a page. The index's rowid is the user's place in that order, `users.name_order`: an
-- integer that sorts as (last_name, first_name, id) do. A new or renamed user is placed between
-- its neighbours by the triggers below; where the neighbours have no room left between them the
-- place stays empty (NULL), and the user out of the index, until the application respaces the
-- rows around it before the transaction commits (`db::name_order::place_unplaced`).
DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_update;
DROP TRIGGER users_search_delete;
DROP TABLE users_search;

ALTER TABLE users ADD COLUMN name_order INTEGER;
CREATE UNIQUE INDEX users_name_order ON users (name_order);
CREATE INDEX users_unplaced ON users (id) WHERE name_order IS NULL;

-- Filled when the application numbers everyone (at its first start after this migration). It
-- keeps no copy of the text: only rowids are read from it.
CREATE VIRTUAL TABLE users_search USING fts5(doc, tokenize = 'trigram', content = '', contentless_delete = 1);

-- The place a user would take between its placed neighbours: halfway, or 1024 past the one
-- before when they are further apart than that (users added one after another in name order,
-- the usual case, leave room behind them); none when they have no room. Places are kept close
-- (1024 apart when numbered afresh): the search index stores the gaps between rowids, and wide
-- gaps tripled its size.
CREATE VIEW user_free_place AS
SELECT u.id, (SELECT CASE WHEN hi - lo > 1 THEN lo + min((hi - lo) / 2, 1024) END FROM (SELECT
    COALESCE((SELECT p.name_order FROM users p WHERE (p.last_name, p.first_name, p.id) < (u.last_name, u.first_name, u.id)
        AND p.name_order IS NOT NULL ORDER BY p.last_name DESC, p.first_name DESC, p.id DESC LIMIT 1), 0) AS lo,
    COALESCE((SELECT n.name_order FROM users n WHERE (n.last_name, n.first_name, n.id) > (u.last_name, u.first_name, u.id)
        AND n.name_order IS NOT NULL ORDER BY n.last_name, n.first_name, n.id LIMIT 1), 4611686018427387904) AS hi)) AS place
FROM users u;

CREATE TRIGGER users_place AFTER INSERT ON users BEGIN
    UPDATE users SET name_order = (SELECT place FROM user_free_place WHERE id = new.id) WHERE id = new.id;
END;
CREATE TRIGGER users_replace AFTER UPDATE OF first_name, last_name ON users
WHEN new.first_name IS NOT old.first_name OR new.last_name IS NOT old.last_name BEGIN
    UPDATE users SET name_order = (SELECT place FROM user_free_place WHERE id = new.id) WHERE id = new.id;
END;

-- The search index follows each user's place, name, email and company.
CREATE TRIGGER users_search_place AFTER UPDATE OF name_order ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    INSERT INTO users_search (rowid, doc)
    SELECT new.name_order, new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE new.name_order IS NOT NULL;
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, company ON users WHEN new.name_order IS NOT NULL BEGIN
    UPDATE users_search SET doc = new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE rowid = new.name_order;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
END;
