-- The given-name index leads with the given name's first three characters, then follows the family
-- index's order (family, given, id): a search's given-name branch then reads its first rows in name
-- order and stops, where it sorted every patient whose given name had the prefix. Built beside the old
-- one, which is dropped last (as in 0011): patients stay readable during the build.
ALTER INDEX "patients_given_name_idx" RENAME TO "patients_given_name_idx_before_0015";--> statement-breakpoint
CREATE INDEX "patients_given_name_idx" ON "patients" USING btree ("organization_id","status",left("search_given", 3) collate "C","search_family" collate "C","search_given" collate "C","id");--> statement-breakpoint
DROP INDEX "patients_given_name_idx_before_0015";
