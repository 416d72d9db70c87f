DROP INDEX outbox_round;
DROP INDEX outbox_invitation;
