import { type SQL, sql } from 'drizzle-orm';
import { closingStatement, type Executor } from '../db/database.js';
import { type AuditEvent, appendRecord } from './audit-event.js';

/** The events as the jsonb array `audit_append` takes (and `audit_pending` keeps, one element a row). */
const records = (events: readonly AuditEvent[]) => sql`${JSON.stringify(events.map(appendRecord))}::jsonb`;

/** Appends events to their chains on `executor` (a transaction, with what they record; or the database). */
export async function appendAuditEvents(executor: Executor, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await executor.execute(sql`select audit_append(${records(events)})`);
}

/** Pending events linked per statement (a pass repeats until fewer are left). */
const LINK_BATCH = 5000;
/** After a failed pass, the next one comes this soon even if no write asks for it. */
const LINK_RETRY_MS = 5000;

interface Waiting {
  events: AuditEvent[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Batch sizes of the group commit since start, for the benchmark and metrics. */
export interface GroupCommitStats {
  batches: number;
  events: number;
  largestBatch: number;
}

/**
 * Writes audit events. Two ways in:
 * - `pending(events)`: the statement a unit of work runs last in its transaction, with the change
 *   they record, into `audit_pending`; after the commit the unit of work calls `link()`, which moves
 *   them into their chain. Linking is a group commit too: the writes that commit while a pass runs
 *   are linked together by the next one, so an organization's writes do not wait for each other's
 *   commits on the chain head's lock. A write answers once its events are linked (or, if linking
 *   fails, once they are durable as pending: the next pass links them, also after a restart).
 * - `record(events)`: for reads, by group commit. Events of concurrent requests wait in a queue while
 *   one batch is being written; when it is durable, everything that queued meanwhile goes in the
 *   next one statement. A lone request is written at once; a busy server writes one batch per
 *   round trip rather than one row per request. The promise settles when the request's own events
 *   are durable, so no answer leaves before its record.
 */
export class AuditLog {
  private queue: Waiting[] = [];
  private flushing = false;
  private linkWaiting: Waiting[] = [];
  private linking = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly counters: GroupCommitStats = { batches: 0, events: 0, largestBatch: 0 };

  constructor(private readonly db: Executor) {}

  /**
   * The statement that writes a write's events to `audit_pending`, in order, for `link`: run last in
   * the write's transaction (none for no events).
   */
  pending(events: readonly AuditEvent[]): SQL[] {
    if (events.length === 0) return [];
    return [
      closingStatement(
        'audit_pending_insert',
        sql`insert into audit_pending (record)
          select x from jsonb_array_elements(${records(events)}) with ordinality as t(x, n) order by n`,
      ),
    ];
  }

  /** Links every event pending now into its chain, in a pass shared with the writes committing meanwhile. */
  link(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.linkWaiting.push({ events: [], resolve, reject });
      if (!this.linking) {
        this.linking = true;
        setImmediate(() => void this.linkPasses());
      }
    });
  }

  record(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ events: [...events], resolve, reject });
      // One turn of the event loop first, so the requests being answered in this turn join the batch
      // (a request often runs from its query to here without yielding: without the wait, every batch
      // would hold one event).
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counters };
  }

  /**
   * Records events that take some work to put together (who the account belongs to...), after an
   * answer was sent: `drain` waits for them too, so shutdown does not lose them. Failures are logged.
   */
  recordLater(events: Promise<readonly AuditEvent[]>, onError: (error: unknown) => void): void {
    const pending = events.then((ready) => this.record(ready)).catch(onError);
    this.inFlight.add(pending);
    void pending.finally(() => this.inFlight.delete(pending));
  }

  /** Resolves once every event recorded or queued so far is written (at shutdown, and in tests). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    while (this.flushing || this.queue.length > 0 || this.linking) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async linkPasses(): Promise<void> {
    try {
      while (this.linkWaiting.length > 0) {
        const waiting = this.linkWaiting;
        this.linkWaiting = [];
        try {
          let linked: number;
          do {
            const result = (await this.db.execute(sql`select audit_link(${LINK_BATCH}) as linked`)) as {
              rows: { linked: number }[];
            };
            linked = Number(result.rows[0]?.linked ?? 0);
          } while (linked === LINK_BATCH);
          for (const w of waiting) w.resolve();
        } catch (error) {
          for (const w of waiting) w.reject(error);
          // The events stay pending (durable): tried again shortly, whether or not another write comes.
          this.retry ??= setTimeout(() => {
            this.retry = undefined;
            this.link().catch(() => {});
          }, LINK_RETRY_MS).unref();
        }
      }
    } finally {
      this.linking = false;
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const events = batch.flatMap((waiting) => waiting.events);
        try {
          await appendAuditEvents(this.db, events);
          this.counters.batches++;
          this.counters.events += events.length;
          this.counters.largestBatch = Math.max(this.counters.largestBatch, events.length);
          for (const waiting of batch) waiting.resolve();
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
