-- PostgreSQL searches with its trigram GIN index; SQLite's second trigram index is its own.
SELECT 1;
