-- Snapshots stored in the compact form have no JSON to go back to: they
-- are dropped (closed rounds lose their results until recomputed).
DELETE FROM snapshots WHERE body IS NULL;
CREATE TABLE snapshots_old (
    round_id TEXT PRIMARY KEY NOT NULL REFERENCES rounds(id),
    min_group_size INTEGER NOT NULL CHECK (min_group_size >= 3),
    computed_at BIGINT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    scores TEXT
);
INSERT INTO snapshots_old (round_id, min_group_size, computed_at, revision, body, scores)
    SELECT round_id, min_group_size, computed_at, revision, body, scores FROM snapshots;
DROP TABLE snapshots;
ALTER TABLE snapshots_old RENAME TO snapshots;
