-- Two kinds of search still read every user at a million (p99 at 16 connections):
-- * A word of one letter ("q" by name: 306 ms; "é": 2 s a page), which the trigram index could
--   not serve. Each indexed text now has two spaces before every word, so two spaces and the
--   letter (three characters) find the words it begins.
-- * A search with a group or status filter ("zhang" among the Admins, by company: 249 ms), which
--   read every match to test its user's group. Each indexed entry now holds its user's group and
--   status too, in a column of its own, `filters`: "g", the group's id and a full stop, then the
--   status's first three letters ("g1. act"). The index finds the matches in a group itself.
-- The searched words are looked for in `doc` alone (db::directory).
DROP TABLE users_search;
CREATE VIRTUAL TABLE users_search USING fts5(doc, filters, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO users_search (rowid, doc, filters)
SELECT name_order, replace(' ' || first_name || ' ' || last_name || ' ' || email || ' ' || company, ' ', '  '),
    'g' || group_id || '. ' || substr(status, 1, 3)
FROM users WHERE name_order IS NOT NULL ORDER BY name_order;
DROP TABLE users_search_people;
CREATE VIRTUAL TABLE users_search_people USING fts5(doc, filters, tokenize = 'trigram', content = '', contentless_delete = 1);
INSERT INTO users_search_people (rowid, doc, filters)
SELECT email_order, replace(' ' || first_name || ' ' || last_name || ' ' || email, ' ', '  '),
    'g' || group_id || '. ' || substr(status, 1, 3)
FROM users WHERE email_order IS NOT NULL ORDER BY email_order;

DROP TRIGGER users_search_place;
CREATE TRIGGER users_search_place AFTER UPDATE OF name_order ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.name_order;
    INSERT INTO users_search (rowid, doc, filters)
    SELECT new.name_order,
        replace(' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company, ' ', '  '),
        'g' || new.group_id || '. ' || substr(new.status, 1, 3)
    WHERE new.name_order IS NOT NULL;
    UPDATE users_search_people
    SET doc = replace(' ' || new.first_name || ' ' || new.last_name || ' ' || new.email, ' ', '  '),
        filters = 'g' || new.group_id || '. ' || substr(new.status, 1, 3)
    WHERE rowid = new.email_order;
END;
DROP TRIGGER users_people_place;
CREATE TRIGGER users_people_place AFTER UPDATE OF email_order ON users BEGIN
    DELETE FROM users_search_people WHERE rowid = old.email_order;
    INSERT INTO users_search_people (rowid, doc, filters)
    SELECT new.email_order, replace(' ' || new.first_name || ' ' || new.last_name || ' ' || new.email, ' ', '  '),
        'g' || new.group_id || '. ' || substr(new.status, 1, 3)
    WHERE new.email_order IS NOT NULL;
END;
DROP TRIGGER users_search_update;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, company, group_id, status ON users BEGIN
    UPDATE users_search
    SET doc = replace(' ' || new.first_name || ' ' || new.last_name || ' ' || new.email || ' ' || new.company, ' ', '  '),
        filters = 'g' || new.group_id || '. ' || substr(new.status, 1, 3)
    WHERE rowid = new.name_order;
    UPDATE users_search_people
    SET doc = replace(' ' || new.first_name || ' ' || new.last_name || ' ' || new.email, ' ', '  '),
        filters = 'g' || new.group_id || '. ' || substr(new.status, 1, 3)
    WHERE rowid = new.email_order;
END;
