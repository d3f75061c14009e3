import { text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { hospitals, rooms } from '../hospitals/hospitals.schema.js';
import { patients } from '../patients/patients.schema.js';

export const APPOINTMENT_STATUSES = [
  'booked',
  'checked-in',
  'in-progress',
  'completed',
  'cancelled',
  'no-show',
] as const;

/**
 * Appointments. Two live appointments (not cancelled, not a no-show) can never overlap for one
 * practitioner or one room: exclusion constraints on the time range enforce it in the database
 * (migrations, with btree_gist), also when two bookings race.
 */
export const appointments = tenantTable(
  'appointments',
  {
    patientId: text('patient_id').notNull(),
    practitionerId: text('practitioner_id')
      .notNull()
      .references(() => users.id),
    hospitalId: text('hospital_id'),
    roomId: text('room_id'),
    startsAt: timestampColumn('starts_at').notNull(),
    endsAt: timestampColumn('ends_at').notNull(),
    reason: text('reason'),
    status: text('status').notNull().default('booked'),
    cancelReason: text('cancel_reason'),
  },
  (t) => [
    tenantIndex('appointments_practitioner_start_idx').on(t.practitionerId, t.startsAt),
    tenantIndex('appointments_patient_start_idx').on(t.patientId, t.startsAt),
    tenantIndex('appointments_room_start_idx').on(t.roomId, t.startsAt),
    tenantIndex('appointments_start_idx').on(t.startsAt),
    tenantReference('appointments_patient_fk', t.patientId, () => patients),
    tenantReference('appointments_hospital_fk', t.hospitalId, () => hospitals),
    tenantReference('appointments_room_fk', t.roomId, () => rooms),
  ],
);
