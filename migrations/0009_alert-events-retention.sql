-- The alert event feed is what reconnecting clients resynchronise from, kept ALERT_EVENTS_RETENTION_DAYS.
-- Its rows are never changed; they are deleted only by the retention job (alerts.prune), which says so in
-- its own transaction with SET LOCAL wardline.pruning = 'alert_events'. Alert timelines stay append-only.
CREATE OR REPLACE FUNCTION refuse_alert_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('wardline.pruning', true) = 'alert_events' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '23001';
END;
$$;
--> statement-breakpoint
DROP TRIGGER alert_events_append_only ON alert_events;
--> statement-breakpoint
CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events
  FOR EACH ROW EXECUTE FUNCTION refuse_alert_event_change();
