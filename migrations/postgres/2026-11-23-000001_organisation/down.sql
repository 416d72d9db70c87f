DROP TABLE import_runs;
DROP TABLE employee_roles;
DROP TABLE unit_leaders;
DROP TABLE employees;
DROP TABLE units;
