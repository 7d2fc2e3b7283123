ALTER TABLE sessions DROP COLUMN provider_id;
ALTER TABLE groups DROP COLUMN sign_in_provider_id;
DROP TABLE oidc_links;
DROP TABLE oidc_providers;
