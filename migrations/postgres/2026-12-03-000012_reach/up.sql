-- Reaching everyone (issue 15): mobile numbers and SMS, safety and union
-- representatives, unit types and norms, sign-in through the
-- municipality's identity provider, the "results are ready" message.

ALTER TABLE units ADD COLUMN unit_type TEXT;
-- E.164 (+4791234567), normalised by the import.
ALTER TABLE employees ADD COLUMN mobile TEXT;

-- Safety representatives (verneombud) and union representatives
-- (tillitsvalgt) are roles; the units they represent are listed here.
ALTER TABLE employee_roles DROP CONSTRAINT employee_roles_role_check;
ALTER TABLE employee_roles ADD CONSTRAINT employee_roles_role_check
    CHECK (role IN ('amu', 'admin', 'verneombud', 'tillitsvalgt'));
CREATE TABLE unit_representatives (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (employee_id, unit_id)
);

-- How a round reaches people: e-mail first, SMS first, or both.
ALTER TABLE rounds ADD COLUMN delivery TEXT NOT NULL DEFAULT 'email'
    CHECK (delivery IN ('email', 'sms', 'both'));

-- An invitation goes by e-mail, SMS, both, or on paper.
ALTER TABLE invitations DROP CONSTRAINT invitations_channel_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_channel_check
    CHECK (channel IN ('email', 'sms', 'both', 'paper'));
-- The person left the round's units while it was open: the link and the
-- code no longer work (their hashes are replaced), nothing more is sent.
-- The row still counts as invited, answered or not, so that counts never
-- tell whether someone who left had answered.
ALTER TABLE invitations ADD COLUMN withdrawn BOOLEAN NOT NULL DEFAULT FALSE;

-- A message goes by e-mail or SMS; the "results are ready" message names
-- the group whose results its link opens (no invitation is left to ask).
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email'
    CHECK (channel IN ('email', 'sms'));
ALTER TABLE outbox ADD COLUMN group_key TEXT;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('invitation', 'reminder', 'account', 'account_reminder', 'results'));
ALTER TABLE outbox DROP CONSTRAINT outbox_names_something;
ALTER TABLE outbox ADD CONSTRAINT outbox_names_something
    CHECK ((invitation_id IS NOT NULL AND round_id IS NOT NULL)
           OR account_id IS NOT NULL
           OR (kind = 'results' AND round_id IS NOT NULL AND group_key IS NOT NULL));

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
    mean DOUBLE PRECISION NOT NULL,
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
