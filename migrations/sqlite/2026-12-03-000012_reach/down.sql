DROP TABLE oidc_logins;
DROP TABLE norms;
DROP TABLE result_links;
DROP TABLE live_rows;
DELETE FROM outbox WHERE kind = 'results' OR channel = 'sms';
CREATE TABLE outbox_copy AS SELECT * FROM outbox;
DROP TABLE outbox;
-- Before SMS an invitation went by e-mail or on paper.
UPDATE invitations SET channel = 'email' WHERE channel = 'both';
UPDATE invitations SET channel = 'paper' WHERE channel = 'sms';
CREATE TABLE invitations_old (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    employee_id TEXT NOT NULL REFERENCES employees(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    token_hash TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'paper')),
    responded BOOLEAN NOT NULL DEFAULT FALSE,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    last_reminded_at BIGINT,
    UNIQUE (round_id, employee_id)
);
INSERT INTO invitations_old SELECT id, round_id, employee_id, unit_id, token_hash, code_hash, channel, responded, reminders_sent, last_reminded_at FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_old RENAME TO invitations;
CREATE INDEX invitations_round_unit ON invitations(round_id, unit_id);
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'account', 'account_reminder')),
    round_id TEXT REFERENCES rounds(id),
    invitation_id TEXT REFERENCES invitations(id),
    account_id TEXT REFERENCES accounts(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    CHECK ((invitation_id IS NOT NULL AND round_id IS NOT NULL) OR account_id IS NOT NULL)
);
INSERT INTO outbox SELECT id, kind, round_id, invitation_id, account_id, recipient, status, attempts, next_attempt_at, claimed_by, claimed_at, last_error, created_at, sent_at FROM outbox_copy;
DROP TABLE outbox_copy;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invitation ON outbox(invitation_id);
CREATE INDEX outbox_round ON outbox(round_id);
CREATE INDEX outbox_account ON outbox(account_id);
ALTER TABLE rounds DROP COLUMN delivery;
DROP TABLE unit_representatives;
DELETE FROM employee_roles WHERE role IN ('verneombud', 'tillitsvalgt');
CREATE TABLE employee_roles_old (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('amu', 'admin')),
    PRIMARY KEY (employee_id, role)
);
INSERT INTO employee_roles_old SELECT employee_id, role FROM employee_roles;
DROP TABLE employee_roles;
ALTER TABLE employee_roles_old RENAME TO employee_roles;
ALTER TABLE employees DROP COLUMN mobile;
ALTER TABLE units DROP COLUMN unit_type;
