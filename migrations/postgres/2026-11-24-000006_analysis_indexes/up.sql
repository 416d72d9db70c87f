-- The AMU analysis sums each unit's absence over a window: with the summed
-- columns included, an index-only scan serves it. It replaces the index on
-- (unit_id, period_start).
CREATE INDEX absence_unit_window ON absence (unit_id, period_start, period_end)
    INCLUDE (agreed_workdays, lost_workdays, lost_self_certified,
             lost_doctor_certified, lost_long_term, headcount);
DROP INDEX absence_unit;

-- Units that report no headcount count their active staff: with `active` in
-- the index that count needs no table rows either. It replaces the index on
-- (unit_id).
CREATE INDEX employees_unit_active ON employees (unit_id, active);
DROP INDEX employees_unit_id;
