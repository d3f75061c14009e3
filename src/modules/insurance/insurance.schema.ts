import { sql } from 'drizzle-orm';
import { boolean, check, date, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { patients } from '../patients/patients.schema.js';
import { prescriptions } from '../prescriptions/prescriptions.schema.js';

/** Insurance providers (payers) an organization bills. */
export const insurers = tenantTable(
  'insurers',
  {
    name: text('name').notNull(),
    payerId: text('payer_id'),
    phone: text('phone'),
    active: boolean('active').notNull().default(true),
  },
  (t) => [tenantIndex('insurers_name_idx').unique().on(t.name)],
);

/**
 * A patient's coverage with an insurer: primary or secondary, valid from a date to an optional date
 * (both inclusive). Two active coverages of one patient with the same priority never overlap: an
 * exclusion constraint in the migration (`coverages_no_overlap`, btree_gist) enforces it, also when
 * two requests race.
 */
export const coverages = tenantTable(
  'coverages',
  {
    patientId: text('patient_id').notNull(),
    insurerId: text('insurer_id').notNull(),
    memberId: text('member_id').notNull(),
    plan: text('plan'),
    groupNumber: text('group_number'),
    priority: text('priority').notNull(),
    validFrom: date('valid_from', { mode: 'string' }).notNull(),
    validTo: date('valid_to', { mode: 'string' }),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    tenantIndex('coverages_patient_idx').on(t.patientId, t.priority),
    tenantReference('coverages_patient_fk', t.patientId, () => patients),
    tenantReference('coverages_insurer_fk', t.insurerId, () => insurers),
    check('coverages_valid_range_check', sql`${t.validTo} is null or ${t.validTo} >= ${t.validFrom}`),
  ],
);

/** Prior-authorization requests for a prescription: draft -> submitted -> approved | denied. */
export const priorAuthorizations = tenantTable(
  'prior_authorizations',
  {
    prescriptionId: text('prescription_id').notNull(),
    patientId: text('patient_id').notNull(),
    coverageId: text('coverage_id'),
    status: text('status').notNull().default('draft'),
    justification: text('justification'),
    submittedAt: timestampColumn('submitted_at'),
    submittedBy: text('submitted_by').references(() => users.id),
    decidedAt: timestampColumn('decided_at'),
    decidedBy: text('decided_by').references(() => users.id),
    decisionNotes: text('decision_notes'),
    authorizationNumber: text('authorization_number'),
    validUntil: date('valid_until', { mode: 'string' }),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('prior_authorizations_prescription_idx').on(t.prescriptionId, t.createdAt),
    tenantIndex('prior_authorizations_status_idx').on(t.status, t.createdAt),
    // One open (draft or submitted) request per prescription at a time, also when two are made at once.
    tenantIndex('prior_authorizations_open_idx')
      .unique()
      .on(t.prescriptionId)
      .where(sql`${t.status} in ('draft', 'submitted')`),
    tenantReference('prior_authorizations_prescription_fk', t.prescriptionId, () => prescriptions),
    tenantReference('prior_authorizations_patient_fk', t.patientId, () => patients),
    tenantReference('prior_authorizations_coverage_fk', t.coverageId, () => coverages),
  ],
);
