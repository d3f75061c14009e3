import { boolean, text } from 'drizzle-orm/pg-core';
import { tenantIndex, tenantTable } from '../../platform/db/tenant-table.js';

/**
 * The medication catalog of an organization. `code` is the organization's own code (or an RxNorm or
 * NDC code); `ingredients` are the lower-cased substances an allergy is matched against (the name
 * itself is always matched too). Deactivated, never deleted, once prescribed.
 */
export const medications = tenantTable(
  'medications',
  {
    name: text('name').notNull(),
    form: text('form').notNull(),
    strength: text('strength').notNull(),
    code: text('code').notNull(),
    ingredients: text('ingredients').array().notNull().default([]),
    requiresPriorAuth: boolean('requires_prior_auth').notNull().default(false),
    active: boolean('active').notNull().default(true),
  },
  (t) => [tenantIndex('medications_code_idx').unique().on(t.code), tenantIndex('medications_name_idx').on(t.name)],
);
