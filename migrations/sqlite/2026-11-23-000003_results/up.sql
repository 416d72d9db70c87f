-- Results of closed rounds, sign-in, and the follow-up of results.

-- The frozen snapshot of a closed round: only what the anonymity engine
-- released, as one JSON document (see src/snapshot/). Hidden groups have
-- no figures here at all.
CREATE TABLE snapshots (
    round_id TEXT PRIMARY KEY NOT NULL REFERENCES rounds(id),
    min_group_size INTEGER NOT NULL CHECK (min_group_size >= 3),
    computed_at BIGINT NOT NULL,
    -- Bumped whenever suppression is re-applied, so caches notice.
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);

-- One-time sign-in links: only the SHA-256 of the token is stored.
CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    employee_id TEXT NOT NULL REFERENCES employees(id),
    expires_at BIGINT NOT NULL,
    used BOOLEAN NOT NULL
);

-- Signed-in sessions: the cookie's SHA-256, and the CSRF token forms carry.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    employee_id TEXT NOT NULL REFERENCES employees(id),
    csrf TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_employee ON sessions (employee_id);

-- Action plans: per unit and round, the factors the unit works on and the
-- measures agreed, a responsible person, a date, and whether it is done.
CREATE TABLE action_items (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    factor TEXT NOT NULL,
    measure TEXT NOT NULL,
    responsible TEXT NOT NULL,
    due_on TEXT NOT NULL,
    done BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX action_items_round_unit ON action_items (round_id, unit_id);

-- An uploaded HR file between its preview (a dry run) and the
-- administrator's confirmation; deleted when applied or after an hour.
CREATE TABLE pending_imports (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
