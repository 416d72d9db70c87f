CREATE TABLE responses_new (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT REFERENCES units(id),
    answers TEXT NOT NULL,
    background TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO responses_new (id, round_id, unit_id, answers, background)
    SELECT id, round_id, unit_id, answers, background FROM responses;
DROP TABLE responses;
ALTER TABLE responses_new RENAME TO responses;
