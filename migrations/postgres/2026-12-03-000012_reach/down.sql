DROP TABLE oidc_logins;
DROP TABLE norms;
DROP TABLE result_links;
DROP TABLE live_rows;
DELETE FROM outbox WHERE kind = 'results' OR channel = 'sms';
ALTER TABLE outbox DROP CONSTRAINT outbox_names_something;
ALTER TABLE outbox ADD CONSTRAINT outbox_names_something
    CHECK ((invitation_id IS NOT NULL AND round_id IS NOT NULL) OR account_id IS NOT NULL);
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('invitation', 'reminder', 'account', 'account_reminder'));
ALTER TABLE outbox DROP COLUMN group_key;
ALTER TABLE outbox DROP COLUMN channel;
-- Before SMS an invitation went by e-mail or on paper.
UPDATE invitations SET channel = 'email' WHERE channel = 'both';
UPDATE invitations SET channel = 'paper' WHERE channel = 'sms';
ALTER TABLE invitations DROP COLUMN withdrawn;
ALTER TABLE invitations DROP CONSTRAINT invitations_channel_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_channel_check CHECK (channel IN ('email', 'paper'));
ALTER TABLE rounds DROP COLUMN delivery;
DROP TABLE unit_representatives;
DELETE FROM employee_roles WHERE role IN ('verneombud', 'tillitsvalgt');
ALTER TABLE employee_roles DROP CONSTRAINT employee_roles_role_check;
ALTER TABLE employee_roles ADD CONSTRAINT employee_roles_role_check CHECK (role IN ('amu', 'admin'));
ALTER TABLE employees DROP COLUMN mobile;
ALTER TABLE units DROP COLUMN unit_type;
