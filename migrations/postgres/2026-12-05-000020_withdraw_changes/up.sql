-- Changes no table. Right after this migration, in its transaction, the
-- program withdraws from every stored snapshot the changes measured
-- against figures its previous round no longer shows: a round whose k was
-- raised before raising k withdrew them kept its hidden figures visible as
-- the later round's previous mean (src/snapshot/mod.rs,
-- withdraw_changes_against_hidden_figures). Not undone by down.sql.
SELECT 1;
