import { sql } from 'drizzle-orm';
import { boolean, check, integer, jsonb, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { encounters } from '../encounters/encounters.schema.js';
import { medications } from '../medications/medications.schema.js';
import { patients } from '../patients/patients.schema.js';

/** An allergy a prescriber overrode, as recorded on the prescription. */
export interface OverriddenAllergy {
  substance: string;
  severity?: string;
}

/**
 * Prescriptions: active -> completed | cancelled. `dispensed_quantity` counts what the pharmacy has
 * handed out against it (at most quantity x (refills + 1)). A prescription written over a recorded
 * allergy keeps the override reason and the allergies it overrode.
 */
export const prescriptions = tenantTable(
  'prescriptions',
  {
    patientId: text('patient_id').notNull(),
    encounterId: text('encounter_id'),
    medicationId: text('medication_id').notNull(),
    prescriberId: text('prescriber_id')
      .notNull()
      .references(() => users.id),
    dose: text('dose').notNull(),
    route: text('route').notNull(),
    frequency: text('frequency').notNull(),
    durationDays: integer('duration_days').notNull(),
    quantity: integer('quantity').notNull(),
    refills: integer('refills').notNull().default(0),
    instructions: text('instructions'),
    status: text('status').notNull().default('active'),
    dispensedQuantity: integer('dispensed_quantity').notNull().default(0),
    requiresPriorAuth: boolean('requires_prior_auth').notNull().default(false),
    overrideReason: text('override_reason'),
    overriddenAllergies: jsonb('overridden_allergies').$type<OverriddenAllergy[]>(),
    completedAt: timestampColumn('completed_at'),
    cancelledAt: timestampColumn('cancelled_at'),
    cancelledBy: text('cancelled_by').references(() => users.id),
    cancelReason: text('cancel_reason'),
  },
  (t) => [
    tenantIndex('prescriptions_patient_idx').on(t.patientId, t.createdAt),
    tenantIndex('prescriptions_status_idx').on(t.status, t.createdAt),
    tenantIndex('prescriptions_encounter_idx').on(t.encounterId),
    tenantReference('prescriptions_patient_fk', t.patientId, () => patients),
    tenantReference('prescriptions_encounter_fk', t.encounterId, () => encounters),
    tenantReference('prescriptions_medication_fk', t.medicationId, () => medications),
    check(
      'prescriptions_dispensed_check',
      sql`${t.dispensedQuantity} >= 0 and ${t.dispensedQuantity} <= ${t.quantity} * (${t.refills} + 1)`,
    ),
  ],
);
