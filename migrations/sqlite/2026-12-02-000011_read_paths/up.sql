-- The analysis lists every imported absence period: from this index instead
-- of a scan of the whole table.
CREATE INDEX absence_periods ON absence (period_start, period_end);
