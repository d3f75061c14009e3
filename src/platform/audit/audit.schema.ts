import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestampColumn } from '../db/tenant-table.js';

/**
 * The audit trail: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, migrations/0003) and
 * hash-chained per organization (`chain_id` is the organization id, or `platform` for events outside
 * any organization, such as a failed sign-in for an unknown email). Rows are written only by the SQL
 * function `audit_append`, which numbers and chains them; no foreign key ties them to the
 * organization, because the record must outlive what it records.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    // Ids in time order (UUIDv7, migrations/0014): the table takes a row per audited request and never
    // shrinks, and a random id puts each insert on a random leaf of the primary key's index.
    id: text('id')
      .primaryKey()
      .default(sql`wardline_uuid_v7()::text`),
    chainId: text('chain_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    organizationId: text('organization_id'),
    occurredAt: timestampColumn('occurred_at').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    actorRole: text('actor_role'),
    action: text('action').notNull(),
    resourceType: text('resource_type'),
    resourceId: text('resource_id'),
    /** The one patient the event is about (a read, a change). */
    patientId: text('patient_id'),
    /**
     * Every patient an event disclosed when there were several (a page of a list): one event for the
     * request, as a FHIR AuditEvent has several entities, not one row per patient shown. Null otherwise.
     */
    patientIds: text('patient_ids').array(),
    outcome: text('outcome').notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    /** SHA-256 of the event's canonical serialization (audit-event.ts). */
    digest: text('digest').notNull(),
    prevHash: text('prev_hash').notNull(),
    /** SHA-256 of `prev_hash:seq:digest`. */
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_events_chain_seq_idx').on(t.chainId, t.seq),
    index('audit_events_organization_time_idx').on(t.organizationId, t.occurredAt, t.id),
    index('audit_events_organization_patient_idx').on(t.organizationId, t.patientId, t.occurredAt),
    index('audit_events_organization_actor_idx').on(t.organizationId, t.actorId, t.occurredAt),
    index('audit_events_organization_resource_idx').on(t.organizationId, t.resourceType, t.resourceId),
    // Who saw a patient in a list: `patient_ids @> array[id]`. Patient ids are unique across organizations.
    // Only the list events (a strict operator implies the column is not null, so the planner uses it).
    index('audit_events_patient_ids_idx')
      .using('gin', t.patientIds)
      .where(sql`${t.patientIds} is not null`),
  ],
);

/** The last sequence number and hash of each chain; locked while a batch is appended to it. */
export const auditChainHeads = pgTable('audit_chain_heads', {
  chainId: text('chain_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  hash: text('hash').notNull(),
});

/**
 * A write's audit events, written in the write's transaction (durable with the change they record)
 * and linked into their chain by `audit_link` right after the commit (audit-log.ts): the chain head's
 * lock is then held by the linking pass, briefly, not by every write until it commits. Rows are only
 * ever inserted, or moved into `audit_events` by `audit_link` (a trigger refuses anything else,
 * migrations/0012). `record` is what `audit_append` takes (audit-event.ts `appendRecord`).
 */
export const auditPending = pgTable('audit_pending', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  record: jsonb('record').notNull(),
  createdAt: timestampColumn('created_at').notNull().defaultNow(),
});
