-- Access that ends by itself: a grant, or a person's whole account, may carry the last day it
-- holds; a week before (a setting) one mail is sent, marked here so it is sent once.
ALTER TABLE building_access ADD COLUMN ends_on DATE;
ALTER TABLE building_access ADD COLUMN end_warned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE account_access ADD COLUMN ends_on DATE;
ALTER TABLE account_access ADD COLUMN end_warned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN ends_on DATE;
ALTER TABLE users ADD COLUMN end_warned BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX building_access_ends ON building_access (ends_on) WHERE ends_on IS NOT NULL;
CREATE INDEX account_access_ends ON account_access (ends_on) WHERE ends_on IS NOT NULL;
CREATE INDEX users_ends ON users (ends_on) WHERE ends_on IS NOT NULL;
