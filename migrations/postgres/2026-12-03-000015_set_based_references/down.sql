DROP TRIGGER accounts_truncated ON accounts;
DROP TRIGGER invitations_truncated ON invitations;
DROP TRIGGER accounts_references_rekeyed ON accounts;
DROP TRIGGER accounts_references_deleted ON accounts;
DROP TRIGGER invitations_references_rekeyed ON invitations;
DROP TRIGGER invitations_references_deleted ON invitations;
DROP TRIGGER units_references_rekeyed ON units;
DROP TRIGGER units_references_deleted ON units;
DROP TRIGGER rounds_references_rekeyed ON rounds;
DROP TRIGGER rounds_references_deleted ON rounds;
DROP TRIGGER outbox_references_changed ON outbox;
DROP TRIGGER outbox_references_inserted ON outbox;
DROP TRIGGER responses_references_changed ON responses;
DROP TRIGGER responses_references_inserted ON responses;
DROP FUNCTION references_truncated();
DROP FUNCTION references_gone();
DROP FUNCTION outbox_references_changed();
DROP FUNCTION outbox_references_inserted();
DROP FUNCTION responses_references_changed();
DROP FUNCTION responses_references_inserted();
DROP FUNCTION reference_isolation_checked(TEXT);
DROP FUNCTION reference_remains(TEXT, TEXT, TEXT);
DROP FUNCTION reference_missing(TEXT, TEXT, TEXT);
DROP INDEX outbox_account;
CREATE INDEX outbox_account ON outbox (account_id);
DROP INDEX outbox_invitation;
CREATE INDEX outbox_invitation ON outbox (invitation_id);
ALTER TABLE outbox
    ADD CONSTRAINT outbox_round_id_fkey FOREIGN KEY (round_id) REFERENCES rounds (id),
    ADD CONSTRAINT outbox_invitation_id_fkey FOREIGN KEY (invitation_id) REFERENCES invitations (id),
    ADD CONSTRAINT outbox_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE responses
    ADD CONSTRAINT responses_round_id_fkey FOREIGN KEY (round_id) REFERENCES rounds (id),
    ADD CONSTRAINT responses_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id);
