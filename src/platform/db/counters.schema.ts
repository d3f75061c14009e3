import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

/**
 * Per-organization counters (the last MRN, invoice number, alert event `seq` handed out),
 * incremented under a row lock: see CountersRepository.
 */
export const organizationCounters = pgTable(
  'organization_counters',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: integer('value').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.name] })],
);
