/**
 * The one way services touch tenant data. A unit of work carries who acts and for which tenant,
 * hands out repositories bound to that tenant, and collects what the operation must leave behind:
 * audit events, outbox messages, and actions for after the commit (cache invalidation).
 *
 *   write: one transaction. The audit events are inserted in it (pending), with the change; a write
 *          that records no audit event is refused (rolled back), so no change can commit unrecorded.
 *          After the commit they are linked into their chain (AuditLog.link) before the write returns.
 *   read:  no transaction. The read's audit events go to the group commit, and the result is
 *          returned only once they are durable.
 * Inside a write, a read or a write (another module's service, called by this one) joins the outer
 * transaction, and its events commit with it: one transaction per operation, and no second
 * connection wanted (PGlite has one; waiting for it there would never end).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { databaseError } from '../http/errors.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Outbox } from '../outbox/outbox.js';
import type { RequestContext } from '../tenancy/context.js';
import { CountersRepository, NumberBlocks } from './counters.js';
import { type Database, STALE_STATEMENT } from './database.js';
import { type ActingContext, actingAs, type TenantCaches, Work } from './work.js';

export {
  type ActingContext,
  actingAs,
  type AuditEntry,
  type CachedEntry,
  listedPatients,
  systemActing,
  type TenantCaches,
  Work,
} from './work.js';

type Acting = ActingContext | (RequestContext & { organizationId: string });

function acting(ctx: Acting): ActingContext {
  return 'actor' in ctx ? ctx : actingAs(ctx, ctx.organizationId);
}

/**
 * PostgreSQL ends a transaction caught in a deadlock (40P01), or one that would break serializability
 * (40001), and expects it to be tried again: concurrent inserts checked against the same exclusion
 * constraint (two bookings of one slot) can deadlock on each other's index entries. So is one that
 * met a statement its connection had prepared for an older table (`STALE_STATEMENT`, after a
 * migration): that connection is closed, and the next one prepares it afresh. The whole transaction
 * runs again, from a fresh unit of work, at most twice more.
 */
const CONFLICTS = new Set(['40P01', '40001']);
const RETRIED_SQLSTATES = new Set([...CONFLICTS, ...STALE_STATEMENT]);
export const TRANSACTION_ATTEMPTS = 3;

/**
 * Before a conflict is tried again: a few milliseconds, random, more after each try. The transaction
 * that won was waiting for the loser to end, and is woken by it; tried again at once, the loser could
 * lock the row again before the winner has run, and deadlock with it a second time (a second
 * `deadlock_timeout`, a second try spent). A stale statement is not a conflict, and runs again at once.
 */
export const conflictPause = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, 5 * attempt * (1 + Math.random())));

export async function retryingConflicts<T>(
  transaction: () => Promise<T>,
  pause: (attempt: number) => Promise<void> = conflictPause,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      const { code } = databaseError(error);
      if (attempt >= TRANSACTION_ATTEMPTS || code === undefined || !RETRIED_SQLSTATES.has(code)) throw error;
      if (CONFLICTS.has(code)) await pause(attempt);
    }
  }
}

export class UnitOfWork {
  private readonly current = new AsyncLocalStorage<Work>();
  private jobs: JobQueue | null = null;
  private readonly numberBlocks = new NumberBlocks((organizationId, name, count) =>
    new CountersRepository(this.database.db, organizationId).take(name, count),
  );

  constructor(
    private readonly database: Pick<Database, 'db' | 'transaction'>,
    private readonly auditLog: AuditLog,
    private readonly outbox: Outbox,
    private readonly now: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly options: { auditReads: boolean; cache?: TenantCaches } = { auditReads: true },
  ) {}

  /** Lets writes enqueue jobs (`work.enqueue`); the jobs plugin calls it. */
  useJobs(jobs: JobQueue): void {
    this.jobs = jobs;
  }

  async write<T>(ctx: Acting, operation: (work: Work) => Promise<T>): Promise<T> {
    const outer = this.current.getStore();
    if (outer?.writable) {
      const inner = new Work(outer.db, acting(ctx), this.now, true, outer);
      inner.jobs = this.jobs;
      return this.joined(outer, inner, operation);
    }
    let work: Work | undefined;
    const result = await retryingConflicts(() => {
      work = undefined;
      return this.database.transaction(
        async (tx) => {
          work = new Work(tx, acting(ctx), this.now, true);
          work.jobs = this.jobs;
          const value = await this.current
            .run(work, async () => {
              const result = await operation(work!);
              // An action may add another (what it writes may gather more): run until none is left.
              for (let action = work!.beforeCommitActions.shift(); action; action = work!.beforeCommitActions.shift()) {
                await action();
              }
              return result;
            })
            .finally(() => work!.seal());
          if (work.events.length === 0)
            throw new Error('a write must record an audit event (work.audit) before it commits');
          return value;
        },
        // Sent with the COMMIT (one round trip on PostgreSQL): the events, pending, and the messages.
        () => [...this.auditLog.pending(work!.events), ...this.outbox.inserts(work!.messages)],
        () => work?.unanswered ?? [],
      );
    });
    // The write's audit events are durable (pending) with its change; linked into their chain now.
    await this.auditLog
      .link()
      .catch((error: unknown) =>
        this.log.warn({ code: (error as { code?: string }).code }, 'audit events left pending: linked by a later pass'),
      );
    await this.finish(work!);
    if (work!.messages.length > 0) this.outbox.kick();
    return result;
  }

  /**
   * The next number of the organization's counter `name`, from a block of `block` numbers this process
   * took at once outside any write (`NumberBlocks`): the counter's row is locked for that statement
   * only, so concurrent writes do not queue behind each other's commits. A write that then fails
   * leaves its number unused, a gap, as a
   * database sequence would: for identifiers (MRNs), not for numbers that must run without gaps
   * (invoices take theirs inside their write, `CountersRepository.next`). Called inside a write, it
   * takes one number on that write's transaction, like any statement of a nested unit (a block taken
   * there would be given back if the write rolled back, while this process still handed it out).
   */
  takeNumber(ctx: Acting, name: string, block: number): Promise<number> {
    const outer = this.current.getStore();
    const organizationId = acting(ctx).organizationId;
    if (outer?.writable) return new CountersRepository(outer.db, organizationId).next(name);
    return this.numberBlocks.next(organizationId, name, block);
  }

  async read<T>(ctx: Acting, operation: (work: Work) => Promise<T>): Promise<T> {
    const outer = this.current.getStore();
    if (outer?.writable) return this.joined(outer, new Work(outer.db, acting(ctx), this.now, false, outer), operation);
    const work = new Work(this.database.db, acting(ctx), this.now, false);
    work.cache = this.options.cache ?? null;
    const value = await this.current.run(work, () => operation(work));
    if (this.options.auditReads) await this.auditLog.record(work.events);
    await this.finish(work);
    return value;
  }

  /**
   * A unit of work inside a write: on its transaction, its audit events, messages and invalidations
   * handed to the outer one when it ends, its before- and after-commit actions registered on the
   * outer one as they come (also those registered later, by a before-commit action). The outer write
   * stays the current one, so whatever the inner one calls joins it too.
   */
  private async joined<T>(outer: Work, inner: Work, operation: (work: Work) => Promise<T>): Promise<T> {
    const value = await operation(inner);
    if (inner.writable || this.options.auditReads) outer.events.push(...inner.events);
    outer.messages.push(...inner.messages);
    outer.invalidations.push(...inner.invalidations);
    return value;
  }

  // After-commit actions cannot undo the commit: a failure is logged, and the caller still gets its answer.
  private async finish(work: Work): Promise<void> {
    const { cache } = this.options;
    if (cache && work.invalidations.length > 0) {
      await Promise.all(
        work.invalidations.map(({ organizationId, namespace, keys }) => {
          const entries = cache.tenant(namespace, organizationId);
          return (keys ? entries.invalidate(keys) : entries.clear()).catch((error: unknown) =>
            this.log.error({ err: error, namespace }, 'cache invalidation failed'),
          );
        }),
      );
    }
    for (const action of work.afterCommitActions) {
      await action().catch((error: unknown) => this.log.error({ err: error }, 'after-commit action failed'));
    }
  }
}
