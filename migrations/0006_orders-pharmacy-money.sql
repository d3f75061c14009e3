CREATE TABLE "invoice_lines" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"invoice_id" text NOT NULL,
	"position" integer NOT NULL,
	"service_code" text NOT NULL,
	"description" text NOT NULL,
	"quantity" numeric(12, 3) NOT NULL,
	"unit_price" numeric(18, 2) NOT NULL,
	"tax_rate" numeric(6, 3) NOT NULL,
	"subtotal" numeric(18, 2) NOT NULL,
	"tax" numeric(18, 2) NOT NULL,
	"total" numeric(18, 2) NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"encounter_id" text,
	"kind" text DEFAULT 'invoice' NOT NULL,
	"credited_invoice_id" text,
	"number" text,
	"status" text DEFAULT 'draft' NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"subtotal" numeric(18, 2) DEFAULT '0' NOT NULL,
	"tax" numeric(18, 2) DEFAULT '0' NOT NULL,
	"total" numeric(18, 2) DEFAULT '0' NOT NULL,
	"amount_paid" numeric(18, 2) DEFAULT '0' NOT NULL,
	"amount_credited" numeric(18, 2) DEFAULT '0' NOT NULL,
	"issued_at" timestamp (3) with time zone,
	"due_at" timestamp (3) with time zone,
	"paid_at" timestamp (3) with time zone,
	"voided_at" timestamp (3) with time zone,
	"void_reason" text,
	"credit_reason" text,
	"created_by" text NOT NULL,
	CONSTRAINT "invoices_paid_check" CHECK ("invoices"."amount_paid" >= 0 and "invoices"."amount_paid" + "invoices"."amount_credited" <= "invoices"."total")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"invoice_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"kind" text DEFAULT 'payment' NOT NULL,
	"amount" numeric(18, 2) NOT NULL,
	"method" text,
	"reference" text,
	"reason" text,
	"recorded_by" text NOT NULL,
	CONSTRAINT "payments_amount_check" CHECK ("payments"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "coverages" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"insurer_id" text NOT NULL,
	"member_id" text NOT NULL,
	"plan" text,
	"group_number" text,
	"priority" text NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"active" boolean DEFAULT true NOT NULL,
	CONSTRAINT "coverages_valid_range_check" CHECK ("coverages"."valid_to" is null or "coverages"."valid_to" >= "coverages"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "insurers" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"payer_id" text,
	"phone" text,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prior_authorizations" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"prescription_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"coverage_id" text,
	"status" text DEFAULT 'draft' NOT NULL,
	"justification" text,
	"submitted_at" timestamp (3) with time zone,
	"submitted_by" text,
	"decided_at" timestamp (3) with time zone,
	"decided_by" text,
	"decision_notes" text,
	"authorization_number" text,
	"valid_until" date,
	"created_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lab_order_events" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"order_id" text NOT NULL,
	"type" text NOT NULL,
	"actor_id" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "lab_orders" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"encounter_id" text,
	"test_id" text NOT NULL,
	"ordered_by" text NOT NULL,
	"priority" text DEFAULT 'routine' NOT NULL,
	"status" text DEFAULT 'ordered' NOT NULL,
	"notes" text,
	"collected_at" timestamp (3) with time zone,
	"collected_by" text,
	"started_at" timestamp (3) with time zone,
	"result_value" numeric,
	"result_unit" text,
	"result_flag" text,
	"result_ranges" jsonb,
	"resulted_at" timestamp (3) with time zone,
	"resulted_by" text,
	"reviewed_at" timestamp (3) with time zone,
	"reviewed_by" text,
	"cancelled_at" timestamp (3) with time zone,
	"cancel_reason" text
);
--> statement-breakpoint
CREATE TABLE "lab_tests" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"unit" text NOT NULL,
	"reference_low" numeric,
	"reference_high" numeric,
	"critical_low" numeric,
	"critical_high" numeric,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "medications" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"form" text NOT NULL,
	"strength" text NOT NULL,
	"code" text NOT NULL,
	"ingredients" text[] DEFAULT '{}' NOT NULL,
	"requires_prior_auth" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pharmacy_locations" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"hospital_id" text,
	"name" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stock_levels" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"location_id" text NOT NULL,
	"medication_id" text NOT NULL,
	"on_hand" integer DEFAULT 0 NOT NULL,
	"low_stock_threshold" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "stock_levels_on_hand_check" CHECK ("stock_levels"."on_hand" >= 0),
	CONSTRAINT "stock_levels_threshold_check" CHECK ("stock_levels"."low_stock_threshold" >= 0)
);
--> statement-breakpoint
CREATE TABLE "stock_movements" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"location_id" text NOT NULL,
	"medication_id" text NOT NULL,
	"type" text NOT NULL,
	"quantity" integer NOT NULL,
	"balance_after" integer NOT NULL,
	"lot" text,
	"expires_on" date,
	"reason" text,
	"prescription_id" text,
	"patient_id" text,
	"transfer_id" text,
	"performed_by" text NOT NULL,
	CONSTRAINT "stock_movements_quantity_check" CHECK ("stock_movements"."quantity" <> 0)
);
--> statement-breakpoint
CREATE TABLE "prescriptions" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"encounter_id" text,
	"medication_id" text NOT NULL,
	"prescriber_id" text NOT NULL,
	"dose" text NOT NULL,
	"route" text NOT NULL,
	"frequency" text NOT NULL,
	"duration_days" integer NOT NULL,
	"quantity" integer NOT NULL,
	"refills" integer DEFAULT 0 NOT NULL,
	"instructions" text,
	"status" text DEFAULT 'active' NOT NULL,
	"dispensed_quantity" integer DEFAULT 0 NOT NULL,
	"requires_prior_auth" boolean DEFAULT false NOT NULL,
	"override_reason" text,
	"overridden_allergies" jsonb,
	"completed_at" timestamp (3) with time zone,
	"cancelled_at" timestamp (3) with time zone,
	"cancelled_by" text,
	"cancel_reason" text,
	CONSTRAINT "prescriptions_dispensed_check" CHECK ("prescriptions"."dispensed_quantity" >= 0 and "prescriptions"."dispensed_quantity" <= "prescriptions"."quantity" * ("prescriptions"."refills" + 1))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_lines_organization_id_idx" ON "invoice_lines" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_organization_id_idx" ON "invoices" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "payments_organization_id_idx" ON "payments" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "coverages_organization_id_idx" ON "coverages" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "insurers_organization_id_idx" ON "insurers" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "prior_authorizations_organization_id_idx" ON "prior_authorizations" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "lab_order_events_organization_id_idx" ON "lab_order_events" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "lab_orders_organization_id_idx" ON "lab_orders" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "lab_tests_organization_id_idx" ON "lab_tests" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "medications_organization_id_idx" ON "medications" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "pharmacy_locations_organization_id_idx" ON "pharmacy_locations" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "stock_levels_organization_id_idx" ON "stock_levels" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "stock_movements_organization_id_idx" ON "stock_movements" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "prescriptions_organization_id_idx" ON "prescriptions" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE INDEX "invoice_lines_organization_created_idx" ON "invoice_lines" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_lines_invoice_position_idx" ON "invoice_lines" USING btree ("organization_id","invoice_id","position");
--> statement-breakpoint
CREATE INDEX "invoices_organization_created_idx" ON "invoices" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "invoices_patient_idx" ON "invoices" USING btree ("organization_id","patient_id","created_at");
--> statement-breakpoint
CREATE INDEX "invoices_status_idx" ON "invoices" USING btree ("organization_id","status","issued_at");
--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_idx" ON "invoices" USING btree ("organization_id","number");
--> statement-breakpoint
CREATE INDEX "payments_organization_created_idx" ON "payments" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "payments_invoice_idx" ON "payments" USING btree ("organization_id","invoice_id","created_at");
--> statement-breakpoint
CREATE INDEX "coverages_organization_created_idx" ON "coverages" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "coverages_patient_idx" ON "coverages" USING btree ("organization_id","patient_id","priority");
--> statement-breakpoint
CREATE INDEX "insurers_organization_created_idx" ON "insurers" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "insurers_name_idx" ON "insurers" USING btree ("organization_id","name");
--> statement-breakpoint
CREATE INDEX "prior_authorizations_organization_created_idx" ON "prior_authorizations" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "prior_authorizations_prescription_idx" ON "prior_authorizations" USING btree ("organization_id","prescription_id","created_at");
--> statement-breakpoint
CREATE INDEX "prior_authorizations_status_idx" ON "prior_authorizations" USING btree ("organization_id","status","created_at");
--> statement-breakpoint
CREATE UNIQUE INDEX "prior_authorizations_open_idx" ON "prior_authorizations" USING btree ("organization_id","prescription_id") WHERE "prior_authorizations"."status" in ('draft', 'submitted');
--> statement-breakpoint
CREATE INDEX "lab_order_events_organization_created_idx" ON "lab_order_events" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "lab_order_events_order_idx" ON "lab_order_events" USING btree ("organization_id","order_id","created_at");
--> statement-breakpoint
CREATE INDEX "lab_orders_organization_created_idx" ON "lab_orders" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "lab_orders_patient_idx" ON "lab_orders" USING btree ("organization_id","patient_id","created_at");
--> statement-breakpoint
CREATE INDEX "lab_orders_status_idx" ON "lab_orders" USING btree ("organization_id","status","created_at");
--> statement-breakpoint
CREATE INDEX "lab_orders_flag_idx" ON "lab_orders" USING btree ("organization_id","result_flag","status");
--> statement-breakpoint
CREATE INDEX "lab_tests_organization_created_idx" ON "lab_tests" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "lab_tests_code_idx" ON "lab_tests" USING btree ("organization_id","code");
--> statement-breakpoint
CREATE INDEX "medications_organization_created_idx" ON "medications" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "medications_code_idx" ON "medications" USING btree ("organization_id","code");
--> statement-breakpoint
CREATE INDEX "medications_name_idx" ON "medications" USING btree ("organization_id","name");
--> statement-breakpoint
CREATE INDEX "pharmacy_locations_organization_created_idx" ON "pharmacy_locations" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "pharmacy_locations_name_idx" ON "pharmacy_locations" USING btree ("organization_id","name");
--> statement-breakpoint
CREATE INDEX "stock_levels_organization_created_idx" ON "stock_levels" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "stock_levels_location_medication_idx" ON "stock_levels" USING btree ("organization_id","location_id","medication_id");
--> statement-breakpoint
CREATE INDEX "stock_levels_low_idx" ON "stock_levels" USING btree ("organization_id","location_id") WHERE "stock_levels"."on_hand" <= "stock_levels"."low_stock_threshold";
--> statement-breakpoint
CREATE INDEX "stock_movements_organization_created_idx" ON "stock_movements" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "stock_movements_location_medication_idx" ON "stock_movements" USING btree ("organization_id","location_id","medication_id","created_at");
--> statement-breakpoint
CREATE INDEX "stock_movements_prescription_idx" ON "stock_movements" USING btree ("organization_id","prescription_id");
--> statement-breakpoint
CREATE INDEX "prescriptions_organization_created_idx" ON "prescriptions" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "prescriptions_patient_idx" ON "prescriptions" USING btree ("organization_id","patient_id","created_at");
--> statement-breakpoint
CREATE INDEX "prescriptions_status_idx" ON "prescriptions" USING btree ("organization_id","status","created_at");
--> statement-breakpoint
CREATE INDEX "prescriptions_encounter_idx" ON "prescriptions" USING btree ("organization_id","encounter_id");
--> statement-breakpoint
CREATE INDEX "patients_primary_hospital_idx" ON "patients" USING btree ("organization_id","primary_hospital_id","status");
--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_fk" FOREIGN KEY ("organization_id","invoice_id") REFERENCES "public"."invoices"("organization_id","id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_credited_invoice_fk" FOREIGN KEY ("organization_id","credited_invoice_id") REFERENCES "public"."invoices"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_invoice_fk" FOREIGN KEY ("organization_id","invoice_id") REFERENCES "public"."invoices"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "coverages" ADD CONSTRAINT "coverages_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "coverages" ADD CONSTRAINT "coverages_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "coverages" ADD CONSTRAINT "coverages_insurer_fk" FOREIGN KEY ("organization_id","insurer_id") REFERENCES "public"."insurers"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "insurers" ADD CONSTRAINT "insurers_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_submitted_by_users_id_fk" FOREIGN KEY ("submitted_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_decided_by_users_id_fk" FOREIGN KEY ("decided_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_prescription_fk" FOREIGN KEY ("organization_id","prescription_id") REFERENCES "public"."prescriptions"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prior_authorizations" ADD CONSTRAINT "prior_authorizations_coverage_fk" FOREIGN KEY ("organization_id","coverage_id") REFERENCES "public"."coverages"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_order_events" ADD CONSTRAINT "lab_order_events_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_order_events" ADD CONSTRAINT "lab_order_events_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_order_events" ADD CONSTRAINT "lab_order_events_order_fk" FOREIGN KEY ("organization_id","order_id") REFERENCES "public"."lab_orders"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_ordered_by_users_id_fk" FOREIGN KEY ("ordered_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_collected_by_users_id_fk" FOREIGN KEY ("collected_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_resulted_by_users_id_fk" FOREIGN KEY ("resulted_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_reviewed_by_users_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_orders" ADD CONSTRAINT "lab_orders_test_fk" FOREIGN KEY ("organization_id","test_id") REFERENCES "public"."lab_tests"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "lab_tests" ADD CONSTRAINT "lab_tests_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "medications" ADD CONSTRAINT "medications_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "pharmacy_locations" ADD CONSTRAINT "pharmacy_locations_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "pharmacy_locations" ADD CONSTRAINT "pharmacy_locations_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_levels" ADD CONSTRAINT "stock_levels_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_levels" ADD CONSTRAINT "stock_levels_location_fk" FOREIGN KEY ("organization_id","location_id") REFERENCES "public"."pharmacy_locations"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_levels" ADD CONSTRAINT "stock_levels_medication_fk" FOREIGN KEY ("organization_id","medication_id") REFERENCES "public"."medications"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_performed_by_users_id_fk" FOREIGN KEY ("performed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_location_fk" FOREIGN KEY ("organization_id","location_id") REFERENCES "public"."pharmacy_locations"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_medication_fk" FOREIGN KEY ("organization_id","medication_id") REFERENCES "public"."medications"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_prescription_fk" FOREIGN KEY ("organization_id","prescription_id") REFERENCES "public"."prescriptions"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_prescriber_id_users_id_fk" FOREIGN KEY ("prescriber_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_cancelled_by_users_id_fk" FOREIGN KEY ("cancelled_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "prescriptions" ADD CONSTRAINT "prescriptions_medication_fk" FOREIGN KEY ("organization_id","medication_id") REFERENCES "public"."medications"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
-- The stock ledger, lab order timelines and payments are append-only: corrections are new rows.
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = '23001';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER lab_order_events_append_only BEFORE UPDATE OR DELETE ON lab_order_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
-- Two active coverages of one patient with the same priority never overlap in time (dates inclusive;
-- no end date is open-ended): enforced by the database, so two requests that race cannot both succeed.
ALTER TABLE "coverages" ADD CONSTRAINT "coverages_no_overlap" EXCLUDE USING gist (
  "organization_id" WITH =, "patient_id" WITH =, "priority" WITH =, daterange("valid_from", "valid_to", '[]') WITH &&
) WHERE ("active");
