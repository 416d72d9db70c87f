CREATE INDEX employees_unit_id ON employees (unit_id);
DROP INDEX employees_unit_active;
CREATE INDEX absence_unit ON absence (unit_id, period_start);
DROP INDEX absence_unit_window;
