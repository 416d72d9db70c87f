-- The AMU analysis sums each unit's absence over a window. With every summed
-- column in the index, SQLite answers from the index alone, in unit order,
-- without visiting the table (50 000 employees, 72 000 rows: 37 → 9 ms per
-- window). It replaces the index on (unit_id, period_start).
CREATE INDEX absence_unit_window ON absence (
    unit_id, period_start, period_end, agreed_workdays, lost_workdays,
    lost_self_certified, lost_doctor_certified, lost_long_term, headcount
);
DROP INDEX absence_unit;

-- Units that report no headcount count their active staff: with `active` in
-- the index that count needs no table rows either. It replaces the index on
-- (unit_id).
CREATE INDEX employees_unit_active ON employees (unit_id, active);
DROP INDEX employees_unit_id;
