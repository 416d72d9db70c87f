DROP TABLE pending_imports;
DROP TABLE action_items;
DROP TABLE sessions;
DROP TABLE login_tokens;
DROP TABLE snapshots;
