DROP INDEX absence_periods;
