CREATE TABLE "audit_chain_heads" (
	"chain_id" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"chain_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"organization_id" text,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"action" text NOT NULL,
	"resource_type" text,
	"resource_id" text,
	"patient_id" text,
	"outcome" text NOT NULL,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	"digest" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox_messages" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" text,
	"topic" text NOT NULL,
	"payload" jsonb NOT NULL,
	"request_id" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"available_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"delivered_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_chain_seq_idx" ON "audit_events" USING btree ("chain_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_organization_time_idx" ON "audit_events" USING btree ("organization_id","occurred_at","id");--> statement-breakpoint
CREATE INDEX "audit_events_organization_patient_idx" ON "audit_events" USING btree ("organization_id","patient_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_organization_actor_idx" ON "audit_events" USING btree ("organization_id","actor_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_events_organization_resource_idx" ON "audit_events" USING btree ("organization_id","resource_type","resource_id");--> statement-breakpoint
CREATE INDEX "outbox_messages_pending_idx" ON "outbox_messages" USING btree ("available_at","id") WHERE "outbox_messages"."delivered_at" is null;--> statement-breakpoint
-- Appends a batch of audit events (a JSON array of objects with the audit_events columns and a
-- "chain_id" and "digest" each): locks each chain's head in a fixed order, numbers its events from
-- there, and chains them: hash = sha256(prev_hash || ':' || seq || ':' || digest). One call per batch,
-- one round trip; the head stays locked until the caller's transaction ends.
CREATE FUNCTION audit_append(events jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  chain text;
  head_seq bigint;
  head_hash text;
  next_hash text;
  e jsonb;
BEGIN
  FOR chain IN SELECT DISTINCT x->>'chain_id' FROM jsonb_array_elements(events) AS x ORDER BY 1 LOOP
    INSERT INTO audit_chain_heads (chain_id, seq, hash) VALUES (chain, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_chain_heads h WHERE h.chain_id = chain FOR UPDATE;
    FOR e IN
      SELECT x FROM jsonb_array_elements(events) WITH ORDINALITY AS t(x, n) WHERE x->>'chain_id' = chain ORDER BY n
    LOOP
      head_seq := head_seq + 1;
      next_hash := encode(sha256(convert_to(head_hash || ':' || head_seq::text || ':' || (e->>'digest'), 'UTF8')), 'hex');
      INSERT INTO audit_events (
        chain_id, seq, organization_id, occurred_at, actor_type, actor_id, actor_role, action, resource_type,
        resource_id, patient_id, outcome, ip, user_agent, request_id, digest, prev_hash, hash
      ) VALUES (
        chain, head_seq, e->>'organization_id', (e->>'occurred_at')::timestamptz, e->>'actor_type', e->>'actor_id',
        e->>'actor_role', e->>'action', e->>'resource_type', e->>'resource_id', e->>'patient_id', e->>'outcome',
        e->>'ip', e->>'user_agent', e->>'request_id', e->>'digest', head_hash, next_hash
      );
      head_hash := next_hash;
    END LOOP;
    UPDATE audit_chain_heads SET seq = head_seq, hash = head_hash WHERE chain_id = chain;
  END LOOP;
END $$;
--> statement-breakpoint
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
