DROP TRIGGER users_people_place;
DROP TRIGGER users_email_replace;
DROP TRIGGER users_email_place;
DROP VIEW user_free_email_place;
DROP TRIGGER users_search_place;
CREATE TRIGGER users_search_place AFTER UPDATE OF name_order ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    INSERT INTO users_search (rowid, doc)
    SELECT new.name_order, ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE new.name_order IS NOT NULL;
    DELETE FROM users_search_people WHERE rowid = old.name_order;
    INSERT INTO users_search_people (rowid, doc)
    SELECT new.name_order, ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email
    WHERE new.name_order IS NOT NULL;
END;
DROP TRIGGER users_search_update;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, company ON users WHEN new.name_order IS NOT NULL BEGIN
    UPDATE users_search SET doc = ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE rowid = new.name_order;
    UPDATE users_search_people SET doc = ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email
    WHERE rowid = new.name_order;
END;
DROP TRIGGER users_search_delete;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    DELETE FROM users_search_people WHERE rowid = old.name_order;
END;
DROP TABLE users_search_people;
CREATE VIRTUAL TABLE users_search_people USING fts5(doc, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO users_search_people (rowid, doc)
SELECT name_order, ' ' || first_name || ' ' || last_name || ' ' || email
FROM users WHERE name_order IS NOT NULL ORDER BY name_order;
DROP INDEX users_email_unplaced;
DROP INDEX users_email_order;
ALTER TABLE users DROP COLUMN email_order;
