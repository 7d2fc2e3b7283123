ALTER TABLE groups DROP COLUMN two_step_grace_days;
ALTER TABLE groups DROP COLUMN two_step_required_at;
DROP TABLE recovery_codes;
