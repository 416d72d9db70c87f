DROP INDEX responses_round;
