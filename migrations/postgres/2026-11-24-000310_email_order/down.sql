-- PostgreSQL sorts a search's matches by email itself; the email order is SQLite's own.
SELECT 1;
