-- Reaching everyone (issue 15): mobile numbers and SMS, safety and union
-- representatives, unit types and norms, sign-in through the
-- municipality's identity provider, the "results are ready" message.

ALTER TABLE units ADD COLUMN unit_type TEXT;
-- E.164 (+4791234567), normalised by the import.
ALTER TABLE employees ADD COLUMN mobile TEXT;

-- Safety representatives (verneombud) and union representatives
-- (tillitsvalgt) are roles; the units they represent are listed here.
CREATE TABLE employee_roles_new (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('amu', 'admin', 'verneombud', 'tillitsvalgt')),
    PRIMARY KEY (employee_id, role)
);
INSERT INTO employee_roles_new (employee_id, role) SELECT employee_id, role FROM employee_roles;
DROP TABLE employee_roles;
ALTER TABLE employee_roles_new RENAME TO employee_roles;

CREATE TABLE unit_representatives (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (employee_id, unit_id)
);

-- How a round reaches people: e-mail first, SMS first, or both.
ALTER TABLE rounds ADD COLUMN delivery TEXT NOT NULL DEFAULT 'email'
    CHECK (delivery IN ('email', 'sms', 'both'));

-- An invitation goes by e-mail, SMS, both, or on paper, and may be
-- withdrawn. SQLite cannot
-- change a CHECK in place: the outbox (which refers to the invitations) is
-- set aside as a plain copy, the invitations rebuilt, the outbox rebuilt
-- with a channel and the "results are ready" message.
CREATE TABLE outbox_copy AS SELECT * FROM outbox;
DROP TABLE outbox;

CREATE TABLE invitations_new (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    employee_id TEXT NOT NULL REFERENCES employees(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    token_hash TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'both', 'paper')),
    responded BOOLEAN NOT NULL DEFAULT FALSE,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    last_reminded_at BIGINT,
    -- The person left the round's units while it was open: the link and
    -- the code no longer work (their hashes are replaced), nothing more is
    -- sent. The row still counts as invited, answered or not, so that
    -- counts never tell whether someone who left had answered.
    withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (round_id, employee_id)
);
INSERT INTO invitations_new (id, round_id, employee_id, unit_id, token_hash, code_hash, channel, responded, reminders_sent, last_reminded_at)
    SELECT id, round_id, employee_id, unit_id, token_hash, code_hash, channel, responded, reminders_sent, last_reminded_at FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE INDEX invitations_round_unit ON invitations(round_id, unit_id);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder', 'account', 'account_reminder', 'results')),
    channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    round_id TEXT REFERENCES rounds(id),
    invitation_id TEXT REFERENCES invitations(id),
    account_id TEXT REFERENCES accounts(id),
    -- The results message: the group whose results the link opens (no
    -- invitation is left to ask).
    group_key TEXT,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    CHECK ((invitation_id IS NOT NULL AND round_id IS NOT NULL)
           OR account_id IS NOT NULL
           OR (kind = 'results' AND round_id IS NOT NULL AND group_key IS NOT NULL))
);
INSERT INTO outbox (id, kind, round_id, invitation_id, account_id, recipient, status, attempts, next_attempt_at, claimed_by, claimed_at, last_error, created_at, sent_at)
    SELECT id, kind, round_id, invitation_id, account_id, recipient, status, attempts, next_attempt_at, claimed_by, claimed_at, last_error, created_at, sent_at FROM outbox_copy;
DROP TABLE outbox_copy;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invitation ON outbox(invitation_id);
CREATE INDEX outbox_round ON outbox(round_id);
CREATE INDEX outbox_account ON outbox(account_id);

-- The rows of a round's live response counts, decided when it opens and
-- kept: each unit's people are counted in its own row or in an ancestor's
-- (rounds::live), so that people joining later never split a row.
CREATE TABLE live_rows (
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    row_unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (round_id, unit_id)
);

-- After close, each invited person may open their own group's released
-- results through a link in a "results are ready" message. A link names a
-- group of a round, never a person: one per group, its token's hash here.
CREATE TABLE result_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    group_key TEXT NOT NULL,
    UNIQUE (round_id, group_key)
);

-- Factor means per unit type and scope (national averages for
-- kindergartens, schools, home care …) that the municipality brings.
CREATE TABLE norms (
    unit_type TEXT NOT NULL,
    factor TEXT NOT NULL,
    scope TEXT NOT NULL,
    mean DOUBLE NOT NULL,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (unit_type, factor, scope)
);

-- A sign-in through the identity provider between the redirect and the
-- callback: the state's hash, the PKCE verifier and the nonce, for ten
-- minutes.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
