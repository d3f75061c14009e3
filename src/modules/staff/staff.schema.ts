import { sql } from 'drizzle-orm';
import { text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { hospitals, units } from '../hospitals/hospitals.schema.js';

/** A member's working details in an organization (their role is the membership's). */
export const staffProfiles = tenantTable(
  'staff_profiles',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    hospitalId: text('hospital_id'),
    unitId: text('unit_id'),
    licenceNumber: text('licence_number'),
    specialization: text('specialization'),
    phone: text('phone'),
  },
  (t) => [
    tenantIndex('staff_profiles_user_idx').unique().on(t.userId),
    tenantReference('staff_profiles_hospital_fk', t.hospitalId, () => hospitals),
    tenantReference('staff_profiles_unit_fk', t.unitId, () => units),
  ],
);

/**
 * Shifts: who is on duty where. An open shift has no `ended_at`; a person has at most one open at a
 * time. `role` is the role they work the shift in (their membership's when it started), so the roster
 * of a unit ("nurses on duty in 4B now") is one indexed query.
 */
export const shifts = tenantTable(
  'shifts',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    hospitalId: text('hospital_id').notNull(),
    unitId: text('unit_id').notNull(),
    role: text('role').notNull(),
    startedAt: timestampColumn('started_at').notNull(),
    endedAt: timestampColumn('ended_at'),
    startedBy: text('started_by').notNull(),
    endedBy: text('ended_by'),
  },
  (t) => [
    tenantIndex('shifts_open_user_idx')
      .unique()
      .on(t.userId)
      .where(sql`${t.endedAt} is null`),
    tenantIndex('shifts_open_unit_idx')
      .on(t.unitId, t.role)
      .where(sql`${t.endedAt} is null`),
    tenantIndex('shifts_user_started_idx').on(t.userId, t.startedAt),
    tenantReference('shifts_hospital_fk', t.hospitalId, () => hospitals),
    tenantReference('shifts_unit_fk', t.unitId, () => units),
  ],
);
