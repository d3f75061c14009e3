import { and, arrayContains, asc, desc, eq, gt, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import { TenantRepository } from '../db/tenant-repository.js';
import type { Cursor } from '../http/pagination.js';
import { auditEvents } from './audit.schema.js';

export interface AuditFilter {
  actor?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  patientId?: string;
  outcome?: string;
  from?: Date;
  to?: Date;
}

export const auditColumns = {
  id: auditEvents.id,
  seq: auditEvents.seq,
  occurredAt: auditEvents.occurredAt,
  actorType: auditEvents.actorType,
  actorId: auditEvents.actorId,
  actorRole: auditEvents.actorRole,
  action: auditEvents.action,
  resourceType: auditEvents.resourceType,
  resourceId: auditEvents.resourceId,
  patientId: auditEvents.patientId,
  outcome: auditEvents.outcome,
  ip: auditEvents.ip,
  userAgent: auditEvents.userAgent,
  requestId: auditEvents.requestId,
  // Last, so that the CSV export's earlier columns kept their positions when it was added.
  patientIds: auditEvents.patientIds,
};

export type AuditRow = {
  [K in keyof typeof auditColumns]: (typeof auditColumns)[K]['_']['notNull'] extends true
    ? (typeof auditColumns)[K]['_']['data']
    : (typeof auditColumns)[K]['_']['data'] | null;
};

/** Reads of one organization's audit trail (writes go through AuditLog only). */
export class AuditRepository extends TenantRepository {
  private filtered(filter: AuditFilter, ...more: (SQL | undefined)[]): SQL {
    const e = auditEvents;
    return this.where(
      e,
      filter.actor === undefined ? undefined : eq(e.actorId, filter.actor),
      filter.action === undefined ? undefined : eq(e.action, filter.action),
      filter.resourceType === undefined ? undefined : eq(e.resourceType, filter.resourceType),
      filter.resourceId === undefined ? undefined : eq(e.resourceId, filter.resourceId),
      // The patient's own events, and the lists that showed it.
      filter.patientId === undefined
        ? undefined
        : or(eq(e.patientId, filter.patientId), arrayContains(e.patientIds, [filter.patientId])),
      filter.outcome === undefined ? undefined : eq(e.outcome, filter.outcome),
      filter.from === undefined ? undefined : gte(e.occurredAt, filter.from),
      filter.to === undefined ? undefined : lte(e.occurredAt, filter.to),
      ...more,
    );
  }

  /** Newest first; fetches limit + 1 rows. */
  list(filter: AuditFilter, limit: number, cursor: Cursor | undefined): Promise<AuditRow[]> {
    const e = auditEvents;
    const before = cursor
      ? or(lt(e.occurredAt, new Date(cursor.sort)), and(eq(e.occurredAt, new Date(cursor.sort)), lt(e.id, cursor.id)))
      : undefined;
    return this.db
      .select(auditColumns)
      .from(e)
      .where(this.filtered(filter, before))
      .orderBy(desc(e.occurredAt), desc(e.id))
      .limit(limit + 1);
  }

  /** Oldest first, `size` rows after `after` (keyset), for the export. */
  batch(filter: AuditFilter, size: number, after: { occurredAt: Date; id: string } | undefined): Promise<AuditRow[]> {
    const e = auditEvents;
    const next = after
      ? or(gt(e.occurredAt, after.occurredAt), and(eq(e.occurredAt, after.occurredAt), gt(e.id, after.id)))
      : undefined;
    return this.db
      .select(auditColumns)
      .from(e)
      .where(this.filtered(filter, next))
      .orderBy(asc(e.occurredAt), asc(e.id))
      .limit(size);
  }
}
