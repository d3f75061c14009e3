ALTER TABLE "audit_events" ADD COLUMN "patient_ids" text[];--> statement-breakpoint
CREATE INDEX "audit_events_patient_ids_idx" ON "audit_events" USING gin ("patient_ids") WHERE "audit_events"."patient_ids" is not null;
--> statement-breakpoint
-- audit_append as in 0005, writing patient_ids too (in the order given: the event's digest covers it).
CREATE OR REPLACE FUNCTION audit_append(events jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  chain text;
  head_seq bigint;
  head_hash text;
  seqs bigint[];
  prevs text[];
  hashes text[];
  e jsonb;
BEGIN
  FOR chain IN SELECT DISTINCT x->>'chain_id' FROM jsonb_array_elements(events) AS x ORDER BY 1 LOOP
    INSERT INTO audit_chain_heads (chain_id, seq, hash) VALUES (chain, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
    SELECT h.seq, h.hash INTO head_seq, head_hash FROM audit_chain_heads h WHERE h.chain_id = chain FOR UPDATE;
    seqs := '{}';
    prevs := '{}';
    hashes := '{}';
    FOR e IN
      SELECT x FROM jsonb_array_elements(events) WITH ORDINALITY AS t(x, n) WHERE x->>'chain_id' = chain ORDER BY n
    LOOP
      head_seq := head_seq + 1;
      prevs := prevs || head_hash;
      head_hash := encode(sha256(convert_to(head_hash || ':' || head_seq::text || ':' || (e->>'digest'), 'UTF8')), 'hex');
      seqs := seqs || head_seq;
      hashes := hashes || head_hash;
    END LOOP;
    INSERT INTO audit_events (
      chain_id, seq, organization_id, occurred_at, actor_type, actor_id, actor_role, action, resource_type,
      resource_id, patient_id, patient_ids, outcome, ip, user_agent, request_id, digest, prev_hash, hash
    )
    SELECT
      chain, s.seq, ev.x->>'organization_id', (ev.x->>'occurred_at')::timestamptz, ev.x->>'actor_type',
      ev.x->>'actor_id', ev.x->>'actor_role', ev.x->>'action', ev.x->>'resource_type', ev.x->>'resource_id',
      ev.x->>'patient_id',
      CASE WHEN jsonb_typeof(ev.x->'patient_ids') = 'array' THEN ARRAY(
        SELECT p.id FROM jsonb_array_elements_text(ev.x->'patient_ids') WITH ORDINALITY AS p(id, n) ORDER BY p.n
      ) END,
      ev.x->>'outcome', ev.x->>'ip', ev.x->>'user_agent', ev.x->>'request_id', ev.x->>'digest', s.prev, s.hash
    FROM (
      SELECT x, row_number() OVER (ORDER BY n) AS k
      FROM jsonb_array_elements(events) WITH ORDINALITY AS t(x, n)
      WHERE x->>'chain_id' = chain
    ) AS ev
    JOIN unnest(seqs, prevs, hashes) WITH ORDINALITY AS s(seq, prev, hash, k) USING (k);
    UPDATE audit_chain_heads SET seq = head_seq, hash = head_hash WHERE chain_id = chain;
  END LOOP;
END $$;
