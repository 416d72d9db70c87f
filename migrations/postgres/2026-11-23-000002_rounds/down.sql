DROP TABLE outbox;
DROP TABLE invitation_counts;
DROP TABLE daily_counts;
DROP TABLE responses;
DROP TABLE invitations;
DROP TABLE round_surveys;
DROP TABLE rounds;
