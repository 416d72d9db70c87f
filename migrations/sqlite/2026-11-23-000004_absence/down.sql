DROP TABLE absence;
