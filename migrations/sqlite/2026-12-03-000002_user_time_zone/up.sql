-- Each user may see dates in a time zone of their own (an IANA name; empty: the organization's).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
