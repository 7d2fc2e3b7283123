DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_update;
DROP TRIGGER users_search_place;
DROP TRIGGER users_replace;
DROP TRIGGER users_place;
DROP VIEW user_free_place;
DROP TABLE users_search;
DROP INDEX users_unplaced;
DROP INDEX users_name_order;
ALTER TABLE users DROP COLUMN name_order;

CREATE VIRTUAL TABLE users_search USING fts5(doc, tokenize = 'trigram');
INSERT INTO users_search (rowid, doc) SELECT id, first_name || ' ' || last_name || ' ' || email || ' ' || company FROM users;
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, doc) VALUES (new.id, new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF first_name, last_name, email, company ON users BEGIN
    UPDATE users_search SET doc = new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company WHERE rowid = new.id;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.id;
END;
