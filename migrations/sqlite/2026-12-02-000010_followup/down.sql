DELETE FROM outbox WHERE account_id IS NOT NULL;
CREATE TABLE outbox_old (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder')),
    round_id TEXT NOT NULL REFERENCES rounds(id),
    invitation_id TEXT NOT NULL REFERENCES invitations(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
INSERT INTO outbox_old SELECT id, kind, round_id, invitation_id, recipient, status, attempts, next_attempt_at, claimed_by, claimed_at, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_invitation ON outbox(invitation_id);
CREATE INDEX outbox_round ON outbox(round_id);
DROP TABLE accounts;
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
INSERT INTO action_items (id, round_id, unit_id, factor, measure, responsible, due_on, done, updated_at)
    SELECT m.id, m.round_id, mu.unit_id, m.factor, m.title, m.responsible, COALESCE(m.ended_on, m.started_on), m.status = 'done', m.updated_at
    FROM measures m JOIN measure_units mu ON mu.measure_id = m.id
    WHERE m.round_id IS NOT NULL AND m.factor IS NOT NULL;
DROP TABLE measure_units;
DROP TABLE measures;
DROP TABLE measure_types;
DROP TABLE national_rates;
DROP TABLE absence_targets;
