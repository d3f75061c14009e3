CREATE TABLE "alert_events" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"seq" bigint NOT NULL,
	"type" text NOT NULL,
	"alert_id" text NOT NULL,
	"hospital_id" text NOT NULL,
	"alert" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_timeline" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "alert_timeline_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"alert_id" text NOT NULL,
	"type" text NOT NULL,
	"actor_id" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"hospital_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"room_id" text NOT NULL,
	"patient_id" text,
	"type" text NOT NULL,
	"urgency" integer NOT NULL,
	"priority" text NOT NULL,
	"description" text,
	"status" text DEFAULT 'active' NOT NULL,
	"source" text NOT NULL,
	"raised_by" text,
	"raised_count" integer DEFAULT 1 NOT NULL,
	"last_raised_at" timestamp (3) with time zone NOT NULL,
	"policy" jsonb NOT NULL,
	"tier" integer DEFAULT 1 NOT NULL,
	"step" integer DEFAULT 0 NOT NULL,
	"next_escalation_at" timestamp (3) with time zone,
	"acknowledged_at" timestamp (3) with time zone,
	"acknowledged_by" text,
	"silenced_until" timestamp (3) with time zone,
	"resolved_at" timestamp (3) with time zone,
	"resolved_by" text,
	"resolution" text,
	CONSTRAINT "alerts_urgency_check" CHECK ("alerts"."urgency" between 1 and 5),
	CONSTRAINT "alerts_status_check" CHECK ("alerts"."status" in ('active', 'acknowledged', 'silenced', 'resolved'))
);
--> statement-breakpoint
CREATE TABLE "escalation_policies" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"hospital_id" text NOT NULL,
	"rules" jsonb NOT NULL,
	"ack_timeout_seconds" integer NOT NULL,
	"channels" jsonb,
	"webhook_url" text,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "maintenance_windows" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"unit_id" text NOT NULL,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone NOT NULL,
	"reason" text NOT NULL,
	"created_by" text,
	CONSTRAINT "maintenance_windows_span_check" CHECK ("maintenance_windows"."ends_at" > "maintenance_windows"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "notification_preferences" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"user_id" text NOT NULL,
	"channels" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"user_id" text NOT NULL,
	"alert_id" text NOT NULL,
	"kind" text NOT NULL,
	"tier" integer NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"read_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "push_subscriptions" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"user_id" text NOT NULL,
	"endpoint" text NOT NULL,
	"p256dh" text NOT NULL,
	"auth" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "alert_events_organization_id_idx" ON "alert_events" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_timeline_organization_id_idx" ON "alert_timeline" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_organization_id_idx" ON "alerts" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "escalation_policies_organization_id_idx" ON "escalation_policies" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "maintenance_windows_organization_id_idx" ON "maintenance_windows" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_preferences_organization_id_idx" ON "notification_preferences" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_organization_id_idx" ON "notifications" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "push_subscriptions_organization_id_idx" ON "push_subscriptions" USING btree ("organization_id","id");--> statement-breakpoint
ALTER TABLE "alert_events" ADD CONSTRAINT "alert_events_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_events" ADD CONSTRAINT "alert_events_alert_fk" FOREIGN KEY ("organization_id","alert_id") REFERENCES "public"."alerts"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_timeline" ADD CONSTRAINT "alert_timeline_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_timeline" ADD CONSTRAINT "alert_timeline_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_timeline" ADD CONSTRAINT "alert_timeline_alert_fk" FOREIGN KEY ("organization_id","alert_id") REFERENCES "public"."alerts"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_raised_by_users_id_fk" FOREIGN KEY ("raised_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_acknowledged_by_users_id_fk" FOREIGN KEY ("acknowledged_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_resolved_by_users_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_unit_fk" FOREIGN KEY ("organization_id","unit_id") REFERENCES "public"."units"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_room_fk" FOREIGN KEY ("organization_id","room_id") REFERENCES "public"."rooms"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_policies" ADD CONSTRAINT "escalation_policies_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_policies" ADD CONSTRAINT "escalation_policies_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "escalation_policies" ADD CONSTRAINT "escalation_policies_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_unit_fk" FOREIGN KEY ("organization_id","unit_id") REFERENCES "public"."units"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_alert_fk" FOREIGN KEY ("organization_id","alert_id") REFERENCES "public"."alerts"("organization_id","id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_subscriptions" ADD CONSTRAINT "push_subscriptions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_subscriptions" ADD CONSTRAINT "push_subscriptions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alert_events_organization_created_idx" ON "alert_events" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_events_seq_idx" ON "alert_events" USING btree ("organization_id","seq");--> statement-breakpoint
CREATE INDEX "alert_timeline_organization_created_idx" ON "alert_timeline" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "alert_timeline_alert_idx" ON "alert_timeline" USING btree ("organization_id","alert_id","position");--> statement-breakpoint
CREATE INDEX "alerts_organization_created_idx" ON "alerts" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_room_type_idx" ON "alerts" USING btree ("organization_id","hospital_id","room_id","type") WHERE "alerts"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alerts_status_idx" ON "alerts" USING btree ("organization_id","status","created_at");--> statement-breakpoint
CREATE INDEX "alerts_hospital_status_idx" ON "alerts" USING btree ("organization_id","hospital_id","status","created_at");--> statement-breakpoint
CREATE INDEX "alerts_unit_idx" ON "alerts" USING btree ("organization_id","unit_id","created_at");--> statement-breakpoint
CREATE INDEX "alerts_next_escalation_idx" ON "alerts" USING btree ("next_escalation_at") WHERE "alerts"."next_escalation_at" is not null;--> statement-breakpoint
CREATE INDEX "escalation_policies_organization_created_idx" ON "escalation_policies" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "escalation_policies_hospital_idx" ON "escalation_policies" USING btree ("organization_id","hospital_id");--> statement-breakpoint
CREATE INDEX "maintenance_windows_organization_created_idx" ON "maintenance_windows" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "maintenance_windows_unit_idx" ON "maintenance_windows" USING btree ("organization_id","unit_id","ends_at");--> statement-breakpoint
CREATE INDEX "notification_preferences_organization_created_idx" ON "notification_preferences" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_preferences_user_idx" ON "notification_preferences" USING btree ("organization_id","user_id");--> statement-breakpoint
CREATE INDEX "notifications_organization_created_idx" ON "notifications" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "notifications_user_idx" ON "notifications" USING btree ("organization_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "notifications_unread_idx" ON "notifications" USING btree ("organization_id","user_id") WHERE "notifications"."read_at" is null;--> statement-breakpoint
CREATE INDEX "push_subscriptions_organization_created_idx" ON "push_subscriptions" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "push_subscriptions_endpoint_idx" ON "push_subscriptions" USING btree ("organization_id","endpoint");--> statement-breakpoint
CREATE INDEX "push_subscriptions_user_idx" ON "push_subscriptions" USING btree ("organization_id","user_id");
--> statement-breakpoint
-- Hand-written: an alert's timeline and the event feed are append-only (refuse_append_only_change is from 0006).
CREATE TRIGGER alert_timeline_append_only BEFORE UPDATE OR DELETE ON alert_timeline
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
