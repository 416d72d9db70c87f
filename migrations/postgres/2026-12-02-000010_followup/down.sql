DELETE FROM outbox WHERE account_id IS NOT NULL;
DROP INDEX outbox_account;
ALTER TABLE outbox DROP CONSTRAINT outbox_names_something;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('invitation', 'reminder'));
ALTER TABLE outbox DROP COLUMN account_id;
ALTER TABLE outbox ALTER COLUMN round_id SET NOT NULL;
ALTER TABLE outbox ALTER COLUMN invitation_id SET NOT NULL;
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
