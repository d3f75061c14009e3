import { bigserial, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { timestampColumn } from '../db/tenant-table.js';

/**
 * Messages a unit of work leaves for after its commit (jobs to enqueue, real-time events to send),
 * written in the same transaction as the change: a rolled-back change leaves none, a committed one
 * is delivered at least once, even if the process dies right after the commit.
 */
export const outboxMessages = pgTable(
  'outbox_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: text('organization_id'),
    topic: text('topic').notNull(),
    payload: jsonb('payload').notNull(),
    requestId: text('request_id'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    /** When the next delivery attempt may start (later after each failure). */
    availableAt: timestampColumn('available_at').notNull().defaultNow(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    deliveredAt: timestampColumn('delivered_at'),
  },
  (t) => [
    index('outbox_messages_pending_idx')
      .on(t.availableAt, t.id)
      .where(sql`${t.deliveredAt} is null`),
  ],
);
