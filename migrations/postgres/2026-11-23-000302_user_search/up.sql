-- PostgreSQL searches with the trigram GIN index made in 000301_directory_sort; this
-- migration exists to keep both trees in lock-step (SQLite adds its FTS5 index here).
SELECT 1;
