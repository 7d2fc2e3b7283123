-- PostgreSQL's trigram index finds a word's beginning and filters by its own indexes; these are SQLite's.
SELECT 1;
