import { and, asc, count, eq, gt } from 'drizzle-orm';
import type { Executor } from '../db/database.js';
import {
  type AuditEvent,
  type AuditOutcome,
  type ActorType,
  chainHash,
  digestOf,
  GENESIS_HASH,
} from './audit-event.js';
import { auditChainHeads, auditEvents, auditPending } from './audit.schema.js';

export interface BrokenLink {
  /** The sequence number where the chain stops holding. */
  seq: number;
  /** altered: the row's content or hash is not what was chained; missing: rows were removed; relinked: the row does not follow the one before it. */
  problem: 'altered' | 'missing' | 'relinked';
  eventId: string | null;
}

export interface ChainReport {
  chainId: string;
  /** Events checked. */
  events: number;
  /** The first broken link, or null when the whole chain holds. */
  broken: BrokenLink | null;
}

const BATCH = 5_000;

type Row = typeof auditEvents.$inferSelect;

function eventOf(row: Row): AuditEvent {
  return {
    organizationId: row.organizationId,
    occurredAt: row.occurredAt,
    actorType: row.actorType as ActorType,
    actorId: row.actorId,
    actorRole: row.actorRole,
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    patientId: row.patientId,
    patientIds: row.patientIds,
    outcome: row.outcome as AuditOutcome,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
  };
}

/**
 * Walks one chain from its first event, recomputing each event's digest from its columns and each
 * link from the one before, and reports the first place it does not hold: a changed column, a
 * removed row (a gap in the numbering, or fewer rows than the head counts), a row moved or relinked.
 */
export async function verifyChain(db: Executor, chainId: string): Promise<ChainReport> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, chainId), gt(auditEvents.seq, expectedSeq - 1)))
      .orderBy(asc(auditEvents.seq))
      .limit(BATCH);
    for (const row of rows) {
      if (row.seq !== expectedSeq) return report(expectedSeq, 'missing', null);
      if (row.prevHash !== prevHash) return report(row.seq, 'relinked', row.id);
      const digest = digestOf(eventOf(row));
      if (digest !== row.digest || chainHash(prevHash, row.seq, digest) !== row.hash) {
        return report(row.seq, 'altered', row.id);
      }
      prevHash = row.hash;
      expectedSeq++;
      checked++;
    }
    if (rows.length < BATCH) break;
  }
  const [head] = await db.select().from(auditChainHeads).where(eq(auditChainHeads.chainId, chainId));
  if (head && (head.seq !== expectedSeq - 1 || head.hash !== prevHash)) return report(expectedSeq, 'missing', null);
  return { chainId, events: checked, broken: null };

  function report(seq: number, problem: BrokenLink['problem'], eventId: string | null): ChainReport {
    return { chainId, events: checked, broken: { seq, problem, eventId } };
  }
}

/** Every chain in the database (each organization's, and the platform's), also one whose head row is gone. */
export async function chainIds(db: Executor): Promise<string[]> {
  const heads = await db.select({ chainId: auditChainHeads.chainId }).from(auditChainHeads);
  const withEvents = await db.selectDistinct({ chainId: auditEvents.chainId }).from(auditEvents);
  return [...new Set([...heads, ...withEvents].map((row) => row.chainId))].sort();
}

/** How many events of committed writes wait in `audit_pending` to be linked into their chain. */
export async function pendingEvents(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(auditPending);
  return row?.n ?? 0;
}
