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
import type { AuditEvent, AuditOutcome, ActorType } from '../audit/audit-event.js';
import { boundedUserAgent } from '../audit/audit-event.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../clock.js';
import { databaseError } from '../http/errors.js';
import type { JobInput, SendOptions, TenantJobName } from '../jobs/job-map.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Outbox, OutboxTopics, PendingMessage, Topic } from '../outbox/outbox.js';
import type { RequestContext } from '../tenancy/context.js';
import { CountersRepository, NumberBlocks } from './counters.js';
import { type Database, type Executor, STALE_STATEMENT } from './database.js';
import type { TenantRepository, TenantRepositoryClass } from './tenant-repository.js';

/** Who acts, in which organization, from where: what every audit event names. */
export interface ActingContext {
  organizationId: string;
  requestId: string | null;
  /** The person behind the act (also for an API key, its owner); null for Wardline itself. */
  userId: string | null;
  actor: { type: ActorType; id: string | null; role: string | null };
  client: { ip: string | null; userAgent: string | null };
}

/** A signed-in caller acting in an organization (their own, or, for a platform admin, any). */
export function actingAs(ctx: RequestContext, organizationId: string): ActingContext {
  return {
    organizationId,
    requestId: ctx.requestId,
    userId: ctx.user.id,
    actor: {
      type: ctx.apiKeyId ? 'api-key' : 'user',
      id: ctx.apiKeyId ?? ctx.user.id,
      role: ctx.organizationId === organizationId ? ctx.role : ctx.user.platformAdmin ? 'platform-admin' : null,
    },
    client: { ip: ctx.client.ip, userAgent: boundedUserAgent(ctx.client.userAgent ?? undefined) },
  };
}

/** Wardline itself (a job, a seed, start-up), acting in an organization. */
export function systemActing(organizationId: string, requestId: string | null = null): ActingContext {
  return {
    organizationId,
    requestId,
    userId: null,
    actor: { type: 'system', id: null, role: null },
    client: { ip: null, userAgent: null },
  };
}

/** What an operation records: the rest of the event comes from the acting context and the clock. */
export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  patientId?: string | null;
  /**
   * The patients a read disclosed (the rows of a list page, repeats allowed): one event for the
   * request carries them all, rather than one event per patient. Recorded as `patientId` when there
   * is only one.
   */
  patientIds?: readonly string[];
  outcome?: AuditOutcome;
}

/**
 * Who a page of a list showed, for `work.audit`: the rows' patients; for an empty page, the patient it
 * was filtered on (an empty answer about a patient is still a read of their record).
 */
export function listedPatients(
  rows: readonly { patientId: string }[],
  filteredOn: string | undefined,
): Pick<AuditEntry, 'patientId' | 'patientIds'> {
  return rows.length > 0 ? { patientIds: rows.map((row) => row.patientId) } : { patientId: filteredOn ?? null };
}

/** What the unit of work needs of the cache (platform/cache.ts): an organization's entries of a namespace. */
export interface TenantCaches {
  tenant(
    namespace: string,
    organizationId: string,
  ): {
    getOrSet<T>(read: { key: string; ttl: number; grace?: number; factory: () => Promise<T> }): Promise<T>;
    invalidate(keys: string[]): Promise<void>;
    clear(): Promise<void>;
  };
}

/** A cache-aside read through `work.cached`. */
export interface CachedEntry<T> {
  /**
   * Unique across organizations and namespaces when it is ever invalidated (an id in it): the guards
   * against a fill racing an invalidation count changes by key alone (platform/cache.ts).
   */
  key: string;
  /** Milliseconds an entry is served for. */
  ttl: number;
  /** Milliseconds an expired entry may still be served if loading fails (never for clinical or authorization data). */
  grace?: number;
  /** Loads the value on a miss (on this work's database or transaction); never `undefined`. */
  factory: () => Promise<T>;
}

type Acting = ActingContext | (RequestContext & { organizationId: string });

function acting(ctx: Acting): ActingContext {
  return 'actor' in ctx ? ctx : actingAs(ctx, ctx.organizationId);
}

export class Work {
  readonly events: AuditEvent[] = [];
  readonly messages: PendingMessage[] = [];
  readonly afterCommitActions: (() => Promise<void>)[] = [];
  readonly beforeCommitActions: (() => Promise<void>)[] = [];
  /** Cache entries to drop after the commit: keys of a namespace, or (keys null) all of it. */
  readonly invalidations: { organizationId: string; namespace: string; keys: string[] | null }[] = [];
  /** Statements sent without waiting for their answers (`answerAtCommit`), in the order they were sent. */
  readonly unanswered: Promise<unknown>[] = [];
  private sealed = false;
  /** Set on a read of its own (not inside a write): only such a read may fill the cache. */
  cache: TenantCaches | null = null;
  /** The job queue, for `enqueue` (set by the unit of work on writes). */
  jobs: JobQueue | null = null;

  constructor(
    /** The transaction (write) or the database (read); repositories run their queries on it. */
    readonly db: Executor,
    readonly ctx: ActingContext,
    private readonly now: Clock,
    readonly writable: boolean,
    /** The write this work joined, if any: its commit is the one that counts. */
    private readonly outer: Work | null = null,
  ) {}

  /** A repository bound to this work's organization and transaction. */
  repo<R extends TenantRepository>(Repo: TenantRepositoryClass<R>): R {
    return new Repo(this.db, this.ctx.organizationId);
  }

  audit(entry: AuditEntry): void {
    const { ctx } = this;
    const shown = entry.patientIds ? [...new Set(entry.patientIds)] : [];
    this.events.push({
      organizationId: ctx.organizationId,
      occurredAt: this.now(),
      actorType: ctx.actor.type,
      actorId: ctx.actor.id,
      actorRole: ctx.actor.role,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId ?? null,
      patientId: entry.patientId ?? (shown.length === 1 ? shown[0]! : null),
      patientIds: shown.length > 1 ? shown : null,
      outcome: entry.outcome ?? 'success',
      ip: ctx.client.ip,
      userAgent: ctx.client.userAgent,
      requestId: ctx.requestId,
    });
  }

  /** A message for after the commit (a job, a real-time event), written in this transaction. */
  publish<K extends Topic>(topic: K, payload: OutboxTopics[K]): void {
    if (!this.writable) throw new Error('a read does not publish messages');
    this.messages.push({ organizationId: this.ctx.organizationId, topic, payload, requestId: this.ctx.requestId });
  }

  /**
   * Enqueues job `name` in this transaction: it exists only if the write commits. The payload gets this
   * work's organizationId and requestId. Resolves with the job id, or null when the queue's policy or
   * singletonKey refused a duplicate. `startAfter` delays it (a durable timer).
   */
  async enqueue<K extends TenantJobName>(name: K, input: JobInput<K>, options?: SendOptions): Promise<string | null> {
    if (!this.writable || !this.jobs) throw new Error('jobs are enqueued inside a write');
    const jobs = this.jobs;
    const payload = { ...input, organizationId: this.ctx.organizationId, requestId: this.ctx.requestId };
    const id = await jobs.sendIn(this.db, name, payload as never, options);
    if (id && options?.startAfter === undefined) this.afterCommit(async () => jobs.notify(name));
    return id;
  }

  /** Enqueues several jobs of one name in this transaction, in one statement (see `enqueue`). */
  async enqueueMany<K extends TenantJobName>(name: K, inputs: JobInput<K>[]): Promise<void> {
    if (!this.writable || !this.jobs) throw new Error('jobs are enqueued inside a write');
    if (inputs.length === 0) return;
    const jobs = this.jobs;
    const { organizationId, requestId } = this.ctx;
    await jobs.insertIn(
      this.db,
      name,
      inputs.map((input) => ({ ...input, organizationId, requestId }) as never),
    );
    this.afterCommit(async () => jobs.notify(name));
  }

  /**
   * Runs at the end of the write, in its transaction, after its operation and before its audit events
   * are written: work gathered during the write and written at once (a failure rolls the write back).
   */
  beforeCommit(action: () => Promise<void>): void {
    if (!this.writable) throw new Error('a read has no commit');
    if (this.outer) this.outer.beforeCommit(action);
    else this.beforeCommitActions.push(action);
  }

  /**
   * A statement of this write, already sent, whose answer the write does not wait for before its
   * commit: the statements of a write that reads nothing back (its ids made here) then leave with its
   * audit events and COMMIT in one round trip. If it fails, PostgreSQL rolls the transaction back, and
   * the write fails with this statement's own error (the first such, in the order they were sent).
   */
  answerAtCommit(answer: PromiseLike<unknown>): void {
    // Subscribed to once, now: a drizzle query runs when its `then` is called, and again at every call.
    const settled = new Promise((resolve, reject) => {
      void answer.then(resolve, reject);
    });
    // A failure is the write's, reported when it ends, never an unhandled rejection.
    settled.catch(() => {});
    if (!this.writable) throw new Error('a read has no commit');
    if (this.outer) return this.outer.answerAtCommit(settled);
    // After the operation, the COMMIT may already be on its way: the statement would run outside the write.
    if (this.sealed) throw new Error("answerAtCommit after the write's operation ended: its COMMIT may be sent");
    this.unanswered.push(settled);
  }

  /** The operation and its before-commit actions are done: nothing more joins this write's transaction. */
  seal(): void {
    this.sealed = true;
  }

  /** Runs after a successful commit (never after a rollback): cache invalidation, notifications. */
  afterCommit(action: () => Promise<void>): void {
    // Onto the outermost write's list, whenever it is called (also from its before-commit actions).
    if (this.outer) this.outer.afterCommit(action);
    else this.afterCommitActions.push(action);
  }

  /**
   * Drops this organization's cached entries of `namespace` (the keys given, or all of them) once the
   * change commits, here and on every instance, before the write returns: the next read, on any
   * instance, loads the committed data. Nothing is dropped when the write rolls back.
   */
  invalidate(namespace: string, keys?: string[]): void {
    this.invalidations.push({ organizationId: this.ctx.organizationId, namespace, keys: keys ?? null });
  }

  /**
   * Cache-aside in this organization's `namespace`: the cached value, or the factory's (then cached).
   * Inside a write the factory runs on the transaction and nothing is cached (it may roll back).
   */
  cached<T>(namespace: string, entry: CachedEntry<T>): Promise<T> {
    if (!this.cache) return entry.factory();
    return this.cache.tenant(namespace, this.ctx.organizationId).getOrSet(entry);
  }
}

/**
 * PostgreSQL ends a transaction caught in a deadlock (40P01), or one that would break serializability
 * (40001), and expects it to be tried again: concurrent inserts checked against the same exclusion
 * constraint (two bookings of one slot) can deadlock on each other's index entries. So is one that
 * met a statement its connection had prepared for an older table (`STALE_STATEMENT`, after a
 * migration): that connection is closed, and the next one prepares it afresh. The whole transaction
 * runs again, from a fresh unit of work, at most twice more.
 */
const RETRIED_SQLSTATES = new Set(['40P01', '40001', ...STALE_STATEMENT]);
const TRANSACTION_ATTEMPTS = 3;

async function retryingConflicts<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      const { code } = databaseError(error);
      if (attempt >= TRANSACTION_ATTEMPTS || code === undefined || !RETRIED_SQLSTATES.has(code)) throw error;
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
