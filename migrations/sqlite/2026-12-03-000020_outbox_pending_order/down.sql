DROP INDEX outbox_pending_order;
