/**
 * What an operation of the unit of work (unit-of-work.ts) is given: who acts (`ActingContext`), and the
 * `Work` that hands out repositories on its transaction or database and gathers what the operation leaves
 * behind: audit events, messages, jobs, cache invalidations, actions for before and after the commit, and
 * the statements it sent without waiting for their answers.
 */
import type { AuditEvent, AuditOutcome, ActorType } from '../audit/audit-event.js';
import { boundedUserAgent } from '../audit/audit-event.js';
import type { Clock } from '../clock.js';
import type { JobInput, SendOptions, TenantJobName } from '../jobs/job-map.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { OutboxTopics, PendingMessage, Topic } from '../outbox/outbox.js';
import type { RequestContext } from '../tenancy/context.js';
import type { Executor } from './database.js';
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
    // The write whose commit counts (a work joins the outermost write: unit-of-work.ts).
    const write = this.outer ?? this;
    // After the operation, the COMMIT may already be on its way: the statement would run outside the write.
    if (write.sealed) throw new Error("answerAtCommit after the write's operation ended: its COMMIT may be sent");
    write.unanswered.push(settled);
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
