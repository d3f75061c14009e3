import { sql } from 'drizzle-orm';
import { boolean, check, date, integer, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable } from '../../platform/db/tenant-table.js';
import { hospitals } from '../hospitals/hospitals.schema.js';
import { medications } from '../medications/medications.schema.js';
import { patients } from '../patients/patients.schema.js';
import { prescriptions } from '../prescriptions/prescriptions.schema.js';

/** Where medications are stocked: a hospital's pharmacy, a ward's cabinet. */
export const pharmacyLocations = tenantTable(
  'pharmacy_locations',
  {
    hospitalId: text('hospital_id'),
    name: text('name').notNull(),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    tenantIndex('pharmacy_locations_name_idx').unique().on(t.name),
    tenantReference('pharmacy_locations_hospital_fk', t.hospitalId, () => hospitals),
  ],
);

/**
 * On-hand quantity per location and medication: the sum of that pair's movements, kept in the same
 * transaction as each movement. The check makes "never negative" the database's rule, so racing
 * dispenses cannot take more than there is.
 */
export const stockLevels = tenantTable(
  'stock_levels',
  {
    locationId: text('location_id').notNull(),
    medicationId: text('medication_id').notNull(),
    onHand: integer('on_hand').notNull().default(0),
    lowStockThreshold: integer('low_stock_threshold').notNull().default(0),
  },
  (t) => [
    tenantIndex('stock_levels_location_medication_idx').unique().on(t.locationId, t.medicationId),
    tenantIndex('stock_levels_low_idx')
      .on(t.locationId)
      .where(sql`${t.onHand} <= ${t.lowStockThreshold}`),
    tenantReference('stock_levels_location_fk', t.locationId, () => pharmacyLocations),
    tenantReference('stock_levels_medication_fk', t.medicationId, () => medications),
    check('stock_levels_on_hand_check', sql`${t.onHand} >= 0`),
    check('stock_levels_threshold_check', sql`${t.lowStockThreshold} >= 0`),
  ],
);

/**
 * The append-only stock ledger. `quantity` is signed (receive +, dispense -, adjust either way; a
 * transfer is two rows sharing `transfer_id`); `balance_after` is the location's on-hand quantity
 * once the movement applied.
 */
export const stockMovements = tenantTable(
  'stock_movements',
  {
    locationId: text('location_id').notNull(),
    medicationId: text('medication_id').notNull(),
    type: text('type').notNull(),
    quantity: integer('quantity').notNull(),
    balanceAfter: integer('balance_after').notNull(),
    lot: text('lot'),
    expiresOn: date('expires_on', { mode: 'string' }),
    reason: text('reason'),
    prescriptionId: text('prescription_id'),
    patientId: text('patient_id'),
    transferId: text('transfer_id'),
    performedBy: text('performed_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('stock_movements_location_medication_idx').on(t.locationId, t.medicationId, t.createdAt),
    tenantIndex('stock_movements_prescription_idx').on(t.prescriptionId),
    tenantReference('stock_movements_location_fk', t.locationId, () => pharmacyLocations),
    tenantReference('stock_movements_medication_fk', t.medicationId, () => medications),
    tenantReference('stock_movements_prescription_fk', t.prescriptionId, () => prescriptions),
    tenantReference('stock_movements_patient_fk', t.patientId, () => patients),
    check('stock_movements_quantity_check', sql`${t.quantity} <> 0`),
  ],
);
