-- Sickness absence per unit and period, as HR exports it: the unit's own
-- employees only (subtree totals are summed by naervaer). Health data: it
-- is shown only through the anonymity engine (see src/absence/).
CREATE TABLE absence (
    id TEXT PRIMARY KEY NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units(id),
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    agreed_workdays DOUBLE PRECISION NOT NULL CHECK (agreed_workdays >= 0),
    lost_workdays DOUBLE PRECISION NOT NULL CHECK (lost_workdays >= 0),
    lost_self_certified DOUBLE PRECISION,
    lost_doctor_certified DOUBLE PRECISION,
    lost_long_term DOUBLE PRECISION,
    headcount INTEGER,
    imported_at BIGINT NOT NULL,
    UNIQUE (unit_id, period_start, period_end)
);
CREATE INDEX absence_unit ON absence (unit_id, period_start);
