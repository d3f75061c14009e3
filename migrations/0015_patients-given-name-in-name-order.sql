-- The given-name index leads with the given name's first three characters, then follows the family
-- index's order (family, given, id): a search's given-name branch then reads its first rows in name
-- order and stops, where it sorted every patient whose given name had the prefix. Built beside the old
-- one, which is dropped last (as in 0011); the build lets patients be read but holds their writes until
-- the migration commits. ANALYZE gives the planner the new expression's statistics at once (a short
-- prefix is planned for its value on them), rather than when autovacuum next gets to the table.
ALTER INDEX "patients_given_name_idx" RENAME TO "patients_given_name_idx_before_0015";--> statement-breakpoint
CREATE INDEX "patients_given_name_idx" ON "patients" USING btree ("organization_id","status",left("search_given", 3) collate "C","search_family" collate "C","search_given" collate "C","id");--> statement-breakpoint
DROP INDEX "patients_given_name_idx_before_0015";--> statement-breakpoint
ANALYZE "patients";
