DROP INDEX absence_periods;
ALTER TABLE snapshots ALTER COLUMN body SET COMPRESSION pglz,
                      ALTER COLUMN scores SET COMPRESSION pglz;
