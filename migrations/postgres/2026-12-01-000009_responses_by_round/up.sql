-- A round's responses are read together (close, snapshot, raising k).
CREATE INDEX responses_round ON responses (round_id);
