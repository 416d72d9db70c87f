DROP TABLE unit_staff;
