import { boolean, jsonb, numeric, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { encounters } from '../encounters/encounters.schema.js';
import { patients } from '../patients/patients.schema.js';

/**
 * The lab test catalog. Ranges are exact decimals (numeric, read as strings): normal is
 * [reference_low, reference_high]; at or beyond a critical bound the result is critical.
 */
export const labTests = tenantTable(
  'lab_tests',
  {
    code: text('code').notNull(),
    name: text('name').notNull(),
    unit: text('unit').notNull(),
    referenceLow: numeric('reference_low'),
    referenceHigh: numeric('reference_high'),
    criticalLow: numeric('critical_low'),
    criticalHigh: numeric('critical_high'),
    active: boolean('active').notNull().default(true),
  },
  (t) => [tenantIndex('lab_tests_code_idx').unique().on(t.code)],
);

/**
 * Lab orders: ordered -> collected -> in-progress -> resulted -> reviewed (or cancelled before a
 * result). The result lives on the order with its flag (normal, low, high, critical-low,
 * critical-high), computed on the server from the ranges the test had when it was resulted, which
 * are kept with it.
 */
export const labOrders = tenantTable(
  'lab_orders',
  {
    patientId: text('patient_id').notNull(),
    encounterId: text('encounter_id'),
    testId: text('test_id').notNull(),
    orderedBy: text('ordered_by')
      .notNull()
      .references(() => users.id),
    priority: text('priority').notNull().default('routine'),
    status: text('status').notNull().default('ordered'),
    notes: text('notes'),
    collectedAt: timestampColumn('collected_at'),
    collectedBy: text('collected_by').references(() => users.id),
    startedAt: timestampColumn('started_at'),
    resultValue: numeric('result_value'),
    resultUnit: text('result_unit'),
    resultFlag: text('result_flag'),
    resultRanges: jsonb('result_ranges').$type<Record<string, string | null>>(),
    resultedAt: timestampColumn('resulted_at'),
    resultedBy: text('resulted_by').references(() => users.id),
    reviewedAt: timestampColumn('reviewed_at'),
    reviewedBy: text('reviewed_by').references(() => users.id),
    cancelledAt: timestampColumn('cancelled_at'),
    cancelReason: text('cancel_reason'),
  },
  (t) => [
    tenantIndex('lab_orders_patient_idx').on(t.patientId, t.createdAt),
    tenantIndex('lab_orders_status_idx').on(t.status, t.createdAt),
    tenantIndex('lab_orders_flag_idx').on(t.resultFlag, t.status),
    tenantReference('lab_orders_patient_fk', t.patientId, () => patients),
    tenantReference('lab_orders_encounter_fk', t.encounterId, () => encounters),
    tenantReference('lab_orders_test_fk', t.testId, () => labTests),
  ],
);

/** The append-only timeline of a lab order: every step, and a critical result's escalation. */
export const labOrderEvents = tenantTable(
  'lab_order_events',
  {
    orderId: text('order_id').notNull(),
    type: text('type').notNull(),
    actorId: text('actor_id').references(() => users.id),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [
    tenantIndex('lab_order_events_order_idx').on(t.orderId, t.createdAt),
    tenantReference('lab_order_events_order_fk', t.orderId, () => labOrders),
  ],
);
