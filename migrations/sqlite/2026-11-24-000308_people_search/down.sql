DROP TRIGGER users_search_place;
CREATE TRIGGER users_search_place AFTER UPDATE OF name_order ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    INSERT INTO users_search (rowid, doc)
    SELECT new.name_order, new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE new.name_order IS NOT NULL;
END;
DROP TRIGGER users_search_update;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, company ON users WHEN new.name_order IS NOT NULL BEGIN
    UPDATE users_search SET doc = new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE rowid = new.name_order;
END;
DROP TRIGGER users_search_delete;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
END;
DROP TABLE users_search_people;
