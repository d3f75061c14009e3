-- The given-name index also holds the family name, so a given-name prefix is answered from the index
-- alone. Built beside the old one, which is dropped last: patients stay readable during the build (it
-- blocks writes only), and the drop's exclusive lock lasts only until the migration commits.
ALTER INDEX "patients_given_name_idx" RENAME TO "patients_given_name_idx_before_0011";--> statement-breakpoint
CREATE INDEX "patients_given_name_idx" ON "patients" USING btree ("organization_id","status","search_given" collate "C","search_family" collate "C","id");--> statement-breakpoint
DROP INDEX "patients_given_name_idx_before_0011";
