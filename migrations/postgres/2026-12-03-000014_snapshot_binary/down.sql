-- Snapshots stored in the compact form have no JSON to go back to: they
-- are dropped (closed rounds lose their results until recomputed).
DELETE FROM snapshots WHERE body IS NULL;
ALTER TABLE snapshots
    DROP CONSTRAINT snapshots_one_form,
    DROP COLUMN scores_data,
    DROP COLUMN data,
    ALTER COLUMN body SET NOT NULL;
