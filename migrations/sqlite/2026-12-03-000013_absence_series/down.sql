DROP TABLE absence_series;
DROP TABLE absence_revision;
