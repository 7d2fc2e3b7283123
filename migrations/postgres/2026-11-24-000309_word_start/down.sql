-- PostgreSQL's trigram index serves a word's beginning as it is.
SELECT 1;
