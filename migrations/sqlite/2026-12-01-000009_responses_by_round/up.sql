-- A round's responses are read together (close, snapshot, raising k): keep
-- them together, ordered by round and then by their random id, which says
-- nothing about when anyone answered. SQLite cannot change a primary key
-- in place: the table is rebuilt, still without a rowid.
CREATE TABLE responses_new (
    id TEXT NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT REFERENCES units(id),
    answers TEXT NOT NULL,
    background TEXT NOT NULL,
    PRIMARY KEY (round_id, id)
) WITHOUT ROWID;
INSERT INTO responses_new (id, round_id, unit_id, answers, background)
    SELECT id, round_id, unit_id, answers, background FROM responses;
DROP TABLE responses;
ALTER TABLE responses_new RENAME TO responses;
