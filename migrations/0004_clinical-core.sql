CREATE TABLE "appointments" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"practitioner_id" text NOT NULL,
	"hospital_id" text,
	"room_id" text,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone NOT NULL,
	"reason" text,
	"status" text DEFAULT 'booked' NOT NULL,
	"cancel_reason" text
);
--> statement-breakpoint
CREATE TABLE "diagnoses" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"encounter_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"code" text NOT NULL,
	"text" text NOT NULL,
	"primary" boolean DEFAULT false NOT NULL,
	"recorded_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "encounters" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"patient_id" text NOT NULL,
	"appointment_id" text,
	"hospital_id" text,
	"opened_by" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"signed_at" timestamp (3) with time zone,
	"signed_by" text
);
--> statement-breakpoint
CREATE TABLE "note_versions" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"note_id" text NOT NULL,
	"version" integer NOT NULL,
	"body" text NOT NULL,
	"author_id" text NOT NULL,
	"reason" text
);
--> statement-breakpoint
CREATE TABLE "notes" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"encounter_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"author_id" text NOT NULL,
	"current_version" integer DEFAULT 1 NOT NULL,
	"signed_at" timestamp (3) with time zone,
	"signed_by" text
);
--> statement-breakpoint
CREATE TABLE "vitals" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"encounter_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"type" text NOT NULL,
	"value" double precision NOT NULL,
	"secondary_value" double precision,
	"unit" text NOT NULL,
	"recorded_at" timestamp (3) with time zone NOT NULL,
	"recorded_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hospitals" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"address" text,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rooms" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"hospital_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"name" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "units" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"hospital_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'ward' NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organization_counters" (
	"organization_id" text NOT NULL,
	"name" text NOT NULL,
	"value" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "organization_counters_organization_id_name_pk" PRIMARY KEY("organization_id","name")
);
--> statement-breakpoint
CREATE TABLE "patients" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"mrn" text NOT NULL,
	"given_name" text NOT NULL,
	"family_name" text NOT NULL,
	"search_given" text NOT NULL,
	"search_family" text NOT NULL,
	"birth_date" date NOT NULL,
	"sex" text NOT NULL,
	"phone" text,
	"phone_digits" text,
	"email" text,
	"address" jsonb,
	"emergency_contact" jsonb,
	"allergies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"primary_hospital_id" text,
	"status" text DEFAULT 'active' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shifts" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"user_id" text NOT NULL,
	"hospital_id" text NOT NULL,
	"unit_id" text NOT NULL,
	"role" text NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"ended_at" timestamp (3) with time zone,
	"started_by" text NOT NULL,
	"ended_by" text
);
--> statement-breakpoint
CREATE TABLE "staff_profiles" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"organization_id" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"user_id" text NOT NULL,
	"hospital_id" text,
	"unit_id" text,
	"licence_number" text,
	"specialization" text,
	"phone" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "appointments_organization_id_idx" ON "appointments" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "diagnoses_organization_id_idx" ON "diagnoses" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "encounters_organization_id_idx" ON "encounters" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "note_versions_organization_id_idx" ON "note_versions" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "notes_organization_id_idx" ON "notes" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "vitals_organization_id_idx" ON "vitals" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "hospitals_organization_id_idx" ON "hospitals" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "rooms_organization_id_idx" ON "rooms" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "units_organization_id_idx" ON "units" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "patients_organization_id_idx" ON "patients" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "shifts_organization_id_idx" ON "shifts" USING btree ("organization_id","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "staff_profiles_organization_id_idx" ON "staff_profiles" USING btree ("organization_id","id");
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_practitioner_id_users_id_fk" FOREIGN KEY ("practitioner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_room_fk" FOREIGN KEY ("organization_id","room_id") REFERENCES "public"."rooms"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "diagnoses" ADD CONSTRAINT "diagnoses_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "diagnoses" ADD CONSTRAINT "diagnoses_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "diagnoses" ADD CONSTRAINT "diagnoses_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "diagnoses" ADD CONSTRAINT "diagnoses_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_opened_by_users_id_fk" FOREIGN KEY ("opened_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_signed_by_users_id_fk" FOREIGN KEY ("signed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_appointment_fk" FOREIGN KEY ("organization_id","appointment_id") REFERENCES "public"."appointments"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "encounters" ADD CONSTRAINT "encounters_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "note_versions" ADD CONSTRAINT "note_versions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "note_versions" ADD CONSTRAINT "note_versions_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "note_versions" ADD CONSTRAINT "note_versions_note_fk" FOREIGN KEY ("organization_id","note_id") REFERENCES "public"."notes"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_signed_by_users_id_fk" FOREIGN KEY ("signed_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "notes" ADD CONSTRAINT "notes_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "vitals" ADD CONSTRAINT "vitals_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "vitals" ADD CONSTRAINT "vitals_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "vitals" ADD CONSTRAINT "vitals_encounter_fk" FOREIGN KEY ("organization_id","encounter_id") REFERENCES "public"."encounters"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "vitals" ADD CONSTRAINT "vitals_patient_fk" FOREIGN KEY ("organization_id","patient_id") REFERENCES "public"."patients"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "hospitals" ADD CONSTRAINT "hospitals_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_unit_fk" FOREIGN KEY ("organization_id","unit_id") REFERENCES "public"."units"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "units" ADD CONSTRAINT "units_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "units" ADD CONSTRAINT "units_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "organization_counters" ADD CONSTRAINT "organization_counters_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "patients" ADD CONSTRAINT "patients_primary_hospital_fk" FOREIGN KEY ("organization_id","primary_hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_unit_fk" FOREIGN KEY ("organization_id","unit_id") REFERENCES "public"."units"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "staff_profiles" ADD CONSTRAINT "staff_profiles_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "staff_profiles" ADD CONSTRAINT "staff_profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "staff_profiles" ADD CONSTRAINT "staff_profiles_hospital_fk" FOREIGN KEY ("organization_id","hospital_id") REFERENCES "public"."hospitals"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "staff_profiles" ADD CONSTRAINT "staff_profiles_unit_fk" FOREIGN KEY ("organization_id","unit_id") REFERENCES "public"."units"("organization_id","id") ON DELETE restrict ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "appointments_organization_created_idx" ON "appointments" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "appointments_practitioner_start_idx" ON "appointments" USING btree ("organization_id","practitioner_id","starts_at");
--> statement-breakpoint
CREATE INDEX "appointments_patient_start_idx" ON "appointments" USING btree ("organization_id","patient_id","starts_at");
--> statement-breakpoint
CREATE INDEX "appointments_room_start_idx" ON "appointments" USING btree ("organization_id","room_id","starts_at");
--> statement-breakpoint
CREATE INDEX "appointments_start_idx" ON "appointments" USING btree ("organization_id","starts_at");
--> statement-breakpoint
CREATE INDEX "diagnoses_organization_created_idx" ON "diagnoses" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "diagnoses_encounter_idx" ON "diagnoses" USING btree ("organization_id","encounter_id");
--> statement-breakpoint
CREATE INDEX "diagnoses_patient_idx" ON "diagnoses" USING btree ("organization_id","patient_id","created_at");
--> statement-breakpoint
CREATE INDEX "encounters_organization_created_idx" ON "encounters" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "encounters_patient_idx" ON "encounters" USING btree ("organization_id","patient_id","created_at");
--> statement-breakpoint
CREATE UNIQUE INDEX "encounters_appointment_idx" ON "encounters" USING btree ("organization_id","appointment_id");
--> statement-breakpoint
CREATE INDEX "encounters_status_idx" ON "encounters" USING btree ("organization_id","status","created_at");
--> statement-breakpoint
CREATE INDEX "note_versions_organization_created_idx" ON "note_versions" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "note_versions_note_version_idx" ON "note_versions" USING btree ("organization_id","note_id","version");
--> statement-breakpoint
CREATE INDEX "notes_organization_created_idx" ON "notes" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "notes_encounter_idx" ON "notes" USING btree ("organization_id","encounter_id","created_at");
--> statement-breakpoint
CREATE INDEX "vitals_organization_created_idx" ON "vitals" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE INDEX "vitals_encounter_idx" ON "vitals" USING btree ("organization_id","encounter_id","recorded_at");
--> statement-breakpoint
CREATE INDEX "vitals_patient_type_idx" ON "vitals" USING btree ("organization_id","patient_id","type","recorded_at");
--> statement-breakpoint
CREATE INDEX "hospitals_organization_created_idx" ON "hospitals" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "hospitals_name_idx" ON "hospitals" USING btree ("organization_id","name");
--> statement-breakpoint
CREATE UNIQUE INDEX "hospitals_default_idx" ON "hospitals" USING btree ("organization_id","is_default") WHERE "hospitals"."is_default";
--> statement-breakpoint
CREATE INDEX "rooms_organization_created_idx" ON "rooms" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "rooms_unit_name_idx" ON "rooms" USING btree ("organization_id","unit_id","name");
--> statement-breakpoint
CREATE INDEX "units_organization_created_idx" ON "units" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "units_hospital_name_idx" ON "units" USING btree ("organization_id","hospital_id","name");
--> statement-breakpoint
CREATE INDEX "patients_organization_created_idx" ON "patients" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "patients_mrn_idx" ON "patients" USING btree ("organization_id","mrn");
--> statement-breakpoint
CREATE INDEX "patients_family_name_idx" ON "patients" USING btree ("organization_id","status","search_family" collate "C","search_given" collate "C","id");
--> statement-breakpoint
CREATE INDEX "patients_given_name_idx" ON "patients" USING btree ("organization_id","status","search_given" collate "C","id");
--> statement-breakpoint
CREATE INDEX "patients_birth_date_idx" ON "patients" USING btree ("organization_id","birth_date");
--> statement-breakpoint
CREATE INDEX "patients_phone_idx" ON "patients" USING btree ("organization_id","phone_digits");
--> statement-breakpoint
CREATE INDEX "shifts_organization_created_idx" ON "shifts" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "shifts_open_user_idx" ON "shifts" USING btree ("organization_id","user_id") WHERE "shifts"."ended_at" is null;
--> statement-breakpoint
CREATE INDEX "shifts_open_unit_idx" ON "shifts" USING btree ("organization_id","unit_id","role") WHERE "shifts"."ended_at" is null;
--> statement-breakpoint
CREATE INDEX "shifts_user_started_idx" ON "shifts" USING btree ("organization_id","user_id","started_at");
--> statement-breakpoint
CREATE INDEX "staff_profiles_organization_created_idx" ON "staff_profiles" USING btree ("organization_id","created_at","id");
--> statement-breakpoint
CREATE UNIQUE INDEX "staff_profiles_user_idx" ON "staff_profiles" USING btree ("organization_id","user_id");
--> statement-breakpoint
-- The unique (organization_id, id) indexes above come before the references that point at them.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_ends_after_start" CHECK ("ends_at" > "starts_at");
--> statement-breakpoint
-- No two live appointments of one practitioner, or in one room, overlap: enforced by the database,
-- so two bookings that race cannot both succeed (SQLSTATE 23P01 for the loser).
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_practitioner_no_overlap" EXCLUDE USING gist (
  "organization_id" WITH =, "practitioner_id" WITH =, tstzrange("starts_at", "ends_at") WITH &&
) WHERE ("status" NOT IN ('cancelled', 'no-show'));
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_room_no_overlap" EXCLUDE USING gist (
  "organization_id" WITH =, "room_id" WITH =, tstzrange("starts_at", "ends_at") WITH &&
) WHERE ("room_id" IS NOT NULL AND "status" NOT IN ('cancelled', 'no-show'));
