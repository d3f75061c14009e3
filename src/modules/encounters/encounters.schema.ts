import { boolean, doublePrecision, integer, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { appointments } from '../appointments/appointments.schema.js';
import { hospitals } from '../hospitals/hospitals.schema.js';
import { patients } from '../patients/patients.schema.js';

/** An encounter: opened from a checked-in appointment or as a walk-in; closed (frozen) when signed. */
export const encounters = tenantTable(
  'encounters',
  {
    patientId: text('patient_id').notNull(),
    appointmentId: text('appointment_id'),
    hospitalId: text('hospital_id'),
    openedBy: text('opened_by')
      .notNull()
      .references(() => users.id),
    status: text('status').notNull().default('open'),
    signedAt: timestampColumn('signed_at'),
    signedBy: text('signed_by').references(() => users.id),
  },
  (t) => [
    tenantIndex('encounters_patient_idx').on(t.patientId, t.createdAt),
    tenantIndex('encounters_appointment_idx').unique().on(t.appointmentId),
    tenantIndex('encounters_status_idx').on(t.status, t.createdAt),
    tenantReference('encounters_patient_fk', t.patientId, () => patients),
    tenantReference('encounters_appointment_fk', t.appointmentId, () => appointments),
    tenantReference('encounters_hospital_fk', t.hospitalId, () => hospitals),
  ],
);

/** A clinical note of an encounter; its text lives in versions. Signed notes are frozen. */
export const notes = tenantTable(
  'notes',
  {
    encounterId: text('encounter_id').notNull(),
    patientId: text('patient_id').notNull(),
    authorId: text('author_id')
      .notNull()
      .references(() => users.id),
    currentVersion: integer('current_version').notNull().default(1),
    signedAt: timestampColumn('signed_at'),
    signedBy: text('signed_by').references(() => users.id),
  },
  (t) => [
    tenantIndex('notes_encounter_idx').on(t.encounterId, t.createdAt),
    tenantReference('notes_encounter_fk', t.encounterId, () => encounters),
    tenantReference('notes_patient_fk', t.patientId, () => patients),
  ],
);

/** Append-only versions of a note: an amendment adds one and keeps the original. */
export const noteVersions = tenantTable(
  'note_versions',
  {
    noteId: text('note_id').notNull(),
    version: integer('version').notNull(),
    body: text('body').notNull(),
    authorId: text('author_id')
      .notNull()
      .references(() => users.id),
    reason: text('reason'),
  },
  (t) => [
    tenantIndex('note_versions_note_version_idx').unique().on(t.noteId, t.version),
    tenantReference('note_versions_note_fk', t.noteId, () => notes),
  ],
);

/** Coded diagnoses (ICD-10) of an encounter. */
export const diagnoses = tenantTable(
  'diagnoses',
  {
    encounterId: text('encounter_id').notNull(),
    patientId: text('patient_id').notNull(),
    code: text('code').notNull(),
    text: text('text').notNull(),
    primary: boolean('primary').notNull().default(false),
    recordedBy: text('recorded_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('diagnoses_encounter_idx').on(t.encounterId),
    tenantIndex('diagnoses_patient_idx').on(t.patientId, t.createdAt),
    tenantReference('diagnoses_encounter_fk', t.encounterId, () => encounters),
    tenantReference('diagnoses_patient_fk', t.patientId, () => patients),
  ],
);

/** Vital signs: typed measurements in their canonical unit. */
export const vitals = tenantTable(
  'vitals',
  {
    encounterId: text('encounter_id').notNull(),
    patientId: text('patient_id').notNull(),
    type: text('type').notNull(),
    value: doublePrecision('value').notNull(),
    /** For blood pressure: the diastolic value (`value` is the systolic). */
    secondaryValue: doublePrecision('secondary_value'),
    unit: text('unit').notNull(),
    recordedAt: timestampColumn('recorded_at').notNull(),
    recordedBy: text('recorded_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('vitals_encounter_idx').on(t.encounterId, t.recordedAt),
    tenantIndex('vitals_patient_type_idx').on(t.patientId, t.type, t.recordedAt),
    tenantReference('vitals_encounter_fk', t.encounterId, () => encounters),
    tenantReference('vitals_patient_fk', t.patientId, () => patients),
  ],
);
