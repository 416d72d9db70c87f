-- What the AMU analysis reads of a snapshot (per shown group each released
-- factor's n, mean and SD), written beside the body with it: a sixth of the
-- text to read. NULL for snapshots stored before; they are read from the body.
ALTER TABLE snapshots ADD COLUMN scores TEXT;
