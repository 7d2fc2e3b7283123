-- The walk's indexes (000307 there) are SQLite's own.
SELECT 1;
