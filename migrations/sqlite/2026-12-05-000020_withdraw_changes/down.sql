-- The withdrawn changes stay withdrawn: they showed hidden figures.
SELECT 1;
