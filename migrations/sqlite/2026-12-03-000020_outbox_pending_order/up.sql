-- The pending messages in the order a sender claims them (issue 17): the
-- claim takes the oldest 10 that are due. With only (status,
-- next_attempt_at) every claim sorted every due message — with a round's
-- 50 000 invitations queued at once, 20 ms a claim on SQLite and 100 ms on
-- PostgreSQL (a sort spilled to disk), 5 000 times over. In this index the
-- claim reads its 10 and stops. Partial: sent messages kept for their
-- retention are not in it.
CREATE INDEX outbox_pending_order ON outbox (created_at, id, next_attempt_at)
    WHERE status = 'pending';
