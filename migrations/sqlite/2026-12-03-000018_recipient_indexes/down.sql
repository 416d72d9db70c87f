DROP INDEX employees_mobile;
DROP INDEX employees_email;
