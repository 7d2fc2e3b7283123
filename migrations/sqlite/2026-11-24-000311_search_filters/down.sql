DROP TRIGGER users_search_update;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, company ON users WHEN new.name_order IS NOT NULL BEGIN
    UPDATE users_search SET doc = ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE rowid = new.name_order;
END;
DROP TRIGGER users_people_place;
CREATE TRIGGER users_people_place AFTER UPDATE OF email_order ON users BEGIN
    DELETE FROM users_search_people WHERE rowid = old.email_order;
    INSERT INTO users_search_people (rowid, doc)
    SELECT new.email_order, ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email
    WHERE new.email_order IS NOT NULL;
END;
DROP TRIGGER users_search_place;
CREATE TRIGGER users_search_place AFTER UPDATE OF name_order ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    INSERT INTO users_search (rowid, doc)
    SELECT new.name_order, ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company
    WHERE new.name_order IS NOT NULL;
    UPDATE users_search_people SET doc = ' ' || new.first_name || ' ' || new.last_name || ' ' || new.email
    WHERE rowid = new.email_order;
END;
DROP TABLE users_search_people;
CREATE VIRTUAL TABLE users_search_people USING fts5(doc, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO users_search_people (rowid, doc)
SELECT email_order, ' ' || first_name || ' ' || last_name || ' ' || email
FROM users WHERE email_order IS NOT NULL ORDER BY email_order;
DROP TABLE users_search;
CREATE VIRTUAL TABLE users_search USING fts5(doc, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO users_search (rowid, doc)
SELECT name_order, ' ' || first_name || ' ' || last_name || ' ' || email || ' ' || company
FROM users WHERE name_order IS NOT NULL ORDER BY name_order;
