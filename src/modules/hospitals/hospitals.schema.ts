import { sql } from 'drizzle-orm';
import { boolean, text } from 'drizzle-orm/pg-core';
import { tenantIndex, tenantReference, tenantTable } from '../../platform/db/tenant-table.js';

/** Hospitals (or clinics, sites) of an organization; at most one is the default. Deactivated, never deleted, once referred to. */
export const hospitals = tenantTable(
  'hospitals',
  {
    name: text('name').notNull(),
    address: text('address'),
    timezone: text('timezone').notNull().default('UTC'),
    isDefault: boolean('is_default').notNull().default(false),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    tenantIndex('hospitals_name_idx').unique().on(t.name),
    tenantIndex('hospitals_default_idx')
      .unique()
      .on(t.isDefault)
      .where(sql`${t.isDefault}`),
  ],
);

/** Units of a hospital: wards, departments, the emergency room, an ICU. */
export const units = tenantTable(
  'units',
  {
    hospitalId: text('hospital_id').notNull(),
    name: text('name').notNull(),
    kind: text('kind').notNull().default('ward'),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    tenantIndex('units_hospital_name_idx').unique().on(t.hospitalId, t.name),
    tenantReference('units_hospital_fk', t.hospitalId, () => hospitals),
  ],
);

/** Rooms of a unit (the hospital is kept too: alerts and schedules ask for it without a join). */
export const rooms = tenantTable(
  'rooms',
  {
    hospitalId: text('hospital_id').notNull(),
    unitId: text('unit_id').notNull(),
    name: text('name').notNull(),
    active: boolean('active').notNull().default(true),
  },
  (t) => [
    tenantIndex('rooms_unit_name_idx').unique().on(t.unitId, t.name),
    tenantReference('rooms_hospital_fk', t.hospitalId, () => hospitals),
    tenantReference('rooms_unit_fk', t.unitId, () => units),
  ],
);
