-- The audit log people can read: events keep the names of the people as they were then, and the
-- group of their action (a filter of the Audit log tab); each filter walks an index by id.
ALTER TABLE audit_events ADD COLUMN actor_label TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN impersonator_label TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN category TEXT NOT NULL DEFAULT '';

UPDATE audit_events SET
    actor_label = COALESCE((SELECT CASE WHEN TRIM(u.first_name || ' ' || u.last_name) = '' THEN u.email
        ELSE TRIM(u.first_name || ' ' || u.last_name) || ' (' || u.email || ')' END
        FROM users u WHERE u.id = audit_events.actor_id), ''),
    impersonator_label = COALESCE((SELECT CASE WHEN TRIM(u.first_name || ' ' || u.last_name) = '' THEN u.email
        ELSE TRIM(u.first_name || ' ' || u.last_name) || ' (' || u.email || ')' END
        FROM users u WHERE u.id = audit_events.impersonator_id), ''),
    target_label = COALESCE((SELECT CASE WHEN TRIM(u.first_name || ' ' || u.last_name) = '' THEN u.email
        ELSE TRIM(u.first_name || ' ' || u.last_name) || ' (' || u.email || ')' END
        FROM users u WHERE audit_events.target_type = 'user' AND u.id = audit_events.target_id), target_label),
    category = CASE
        WHEN action IN ('sign_in', 'sign_in.failed', 'sign_in.locked', 'sign_out') THEN 'sign_ins'
        WHEN action IN ('user.access_changed', 'building.access_changed') THEN 'access'
        WHEN action LIKE 'impersonation.%' THEN 'impersonation'
        WHEN action LIKE 'user.%' OR action LIKE 'users.%' OR action LIKE 'owner.%' OR action LIKE 'signup.%' THEN 'users'
        WHEN action LIKE 'group.%' THEN 'groups'
        WHEN action LIKE 'building.%' OR action LIKE 'account.%' THEN 'buildings'
        WHEN action LIKE 'settings.%' THEN 'settings'
        WHEN action LIKE 'invite.%' OR action LIKE 'password_reset.%' OR action LIKE 'owner_setup.%' THEN 'tokens'
        ELSE 'other' END;

DROP INDEX audit_events_target;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_action;
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_impersonator ON audit_events (impersonator_id, id);
CREATE INDEX audit_events_category ON audit_events (category, id);
