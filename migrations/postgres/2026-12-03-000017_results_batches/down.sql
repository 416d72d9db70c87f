DROP TABLE results_batches;
