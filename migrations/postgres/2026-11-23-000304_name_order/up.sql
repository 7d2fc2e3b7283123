-- PostgreSQL searches with its trigram GIN index in any order; SQLite's name order is its own.
SELECT 1;
