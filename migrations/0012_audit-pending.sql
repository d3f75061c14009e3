CREATE TABLE "audit_pending" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"record" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- A pending event is never changed: it is only moved into audit_events by audit_link, which says so in
-- its own transaction (wardline.linking). Nothing else may update, delete or truncate these rows.
CREATE FUNCTION audit_pending_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('wardline.linking', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_pending rows are only linked into the audit trail: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_pending_link_only BEFORE UPDATE OR DELETE ON audit_pending
  FOR EACH ROW EXECUTE FUNCTION audit_pending_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
  FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_refuse_change();
--> statement-breakpoint
-- Links up to max_rows pending events (oldest first) into their chains with audit_append, in one
-- transaction, and answers how many. Rows another linker holds are skipped, not waited for.
CREATE FUNCTION audit_link(max_rows int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  batch jsonb;
  n int;
BEGIN
  PERFORM set_config('wardline.linking', 'on', true);
  WITH taken AS (
    DELETE FROM audit_pending
    WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT max_rows FOR UPDATE SKIP LOCKED)
    RETURNING id, record
  )
  SELECT jsonb_agg(record ORDER BY id), count(*) INTO batch, n FROM taken;
  PERFORM set_config('wardline.linking', 'off', true);
  IF n > 0 THEN
    PERFORM audit_append(batch);
  END IF;
  RETURN n;
END $$;
