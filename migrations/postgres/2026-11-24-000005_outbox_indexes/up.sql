-- Deleting a closed round's invitations checks the outbox's foreign key for
-- every invitation: without an index on invitation_id that is a scan of the
-- outbox per invitation (closing a 50 000-person round on PostgreSQL took
-- 54 s). The round index serves deleting a round's outbox rows.
CREATE INDEX outbox_invitation ON outbox(invitation_id);
CREATE INDEX outbox_round ON outbox(round_id);
