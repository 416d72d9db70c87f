-- "The results are ready", queued by the close as one row per group and
-- way (e-mail or SMS) holding the addresses or numbers, one per line,
-- instead of one outbox row per person: the sender turns a batch into
-- outbox messages when it comes to it. A batch says no more than its
-- messages would: who was invited, and the group whose results the link
-- opens; nothing of who answered.
CREATE TABLE results_batches (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    group_key TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipients TEXT NOT NULL,
    recipient_count INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
