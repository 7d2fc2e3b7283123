ALTER TABLE sessions DROP COLUMN provider_id;
DROP TABLE oidc_links;
DROP TABLE oidc_providers;
