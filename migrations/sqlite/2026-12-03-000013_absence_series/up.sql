-- Each unit's absence periods in one compact row (issue 17): the analysis
-- sums its windows from these 3 000 rows instead of aggregating 36 000
-- absence rows per window. Written by the absence import and the retention
-- in the same transaction as the absence rows; the format is documented in
-- src/analysis/series.rs. Filled from the absence table by the program
-- right after this migration (the encoding is the program's).
CREATE TABLE absence_series (
    unit_id TEXT PRIMARY KEY NOT NULL,
    periods BLOB NOT NULL
);

-- Counts every change of the absence data (each rebuild of the series):
-- what the analysis cache is keyed on, one row to read instead of a scan
-- of the absence table on every AMU page.
CREATE TABLE absence_revision (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO absence_revision (id, revision) VALUES (1, 0);
