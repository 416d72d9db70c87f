CREATE TABLE responses_old (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    answers TEXT NOT NULL,
    background TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO responses_old (id, round_id, unit_id, answers, background)
    SELECT id, round_id, unit_id, answers, background FROM responses WHERE unit_id IS NOT NULL;
DROP TABLE responses;
ALTER TABLE responses_old RENAME TO responses;
