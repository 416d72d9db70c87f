ALTER TABLE snapshots DROP COLUMN scores;
