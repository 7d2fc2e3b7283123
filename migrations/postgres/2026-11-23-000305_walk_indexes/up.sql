-- The walk that uses SQLite's indexes (000305 there) is SQLite's own.
SELECT 1;
