import { sql } from 'drizzle-orm';
import type { Executor } from '../db/database.js';
import { type AuditEvent, appendRecord } from './audit-event.js';

/** Appends events on `executor` (a transaction, with the change they record; or the database). */
export async function appendAuditEvents(executor: Executor, events: readonly AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await executor.execute(sql`select audit_append(${JSON.stringify(events.map(appendRecord))}::jsonb)`);
}

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
 * - `append(tx, events)`: inside a unit of work's transaction, with the change they record.
 * - `record(events)`: for reads, by group commit. Events of concurrent requests wait in a queue while
 *   one batch is being written; when it is durable, everything that queued meanwhile goes in the
 *   next one statement. A lone request is written at once; a busy server writes one batch per
 *   round trip rather than one row per request. The promise settles when the request's own events
 *   are durable, so no answer leaves before its record.
 */
export class AuditLog {
  private queue: Waiting[] = [];
  private flushing = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly counters: GroupCommitStats = { batches: 0, events: 0, largestBatch: 0 };

  constructor(private readonly db: Executor) {}

  append(tx: Executor, events: readonly AuditEvent[]): Promise<void> {
    return appendAuditEvents(tx, events);
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
    while (this.flushing || this.queue.length > 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const events = batch.flatMap((waiting) => waiting.events);
        try {
          await this.append(this.db, events);
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
