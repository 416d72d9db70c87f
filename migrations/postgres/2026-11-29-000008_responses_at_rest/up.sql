-- Anonymity at rest: after close a response's unit is the smallest released
-- group containing it, and NULL when that is the whole organisation above
-- several top units (no unit of its own).
ALTER TABLE responses ALTER COLUMN unit_id DROP NOT NULL;
