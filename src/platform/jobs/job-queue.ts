import type { FastifyBaseLogger } from 'fastify';
import PgBoss from 'pg-boss';
import type { Executor } from '../db/database.js';
import { systemActing } from '../db/unit-of-work.js';
import type {
  JobHandler,
  JobName,
  JobPayload,
  JobResult,
  JobRun,
  PayloadOf,
  QueueOptions,
  QueuePolicy,
  SendOptions,
} from './job-map.js';
import { checkPayload } from './job-payload.js';
import { type SqlExecutor, type TrackedExecutor, transactionExecutor } from './sql-executor.js';

/** What a process does: `all` serves HTTP and runs jobs, `api` serves HTTP (and enqueues), `worker` runs jobs. */
export type ProcessRole = 'all' | 'api' | 'worker';

export interface JobQueueSettings {
  role: ProcessRole;
  /** How often an idle worker looks for jobs, unless its registration says otherwise. */
  pollingIntervalSeconds: number;
  /** How long stop() waits for running handlers before failing them (they are retried later). */
  stopTimeoutMs: number;
}

/** Counts per job name of the jobs not finished yet, for health and metrics. */
export interface JobStats {
  role: ProcessRole;
  /** Whether this process runs handlers now. */
  working: boolean;
  queues: Record<string, { queued: number; retry: number; active: number }>;
}

interface Registration {
  name: string;
  handler: JobHandler<JobPayload>;
  options: QueueOptions;
  deadLetter: string | null;
  /** Whether its queue exists (with these options). */
  prepared: boolean;
  workerIds: string[];
}

const MAX_ERROR = 500;

/** The object without its undefined fields (pg-boss checks `'retryDelay' in options`, not the value). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'failed';
  return message.slice(0, MAX_ERROR);
}

/**
 * The job queue: pg-boss 10 on Wardline's database (see sql-executor.ts). Every process registers the
 * same handlers; only a process whose role runs jobs (all, worker) starts workers, the clock for cron
 * schedules and pg-boss's maintenance (expiring stuck jobs, archiving finished ones). Any process can
 * send. Inside a unit of work, enqueue with `work.enqueue` (same transaction), not `send`.
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private readonly registrations = new Map<string, Registration>();
  private readonly schedules = new Map<string, { cron: string; data: JobPayload; tz: string }>();
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  /** Set-up steps (queues, workers) run one after another, in the order asked. */
  private chain: Promise<void> = Promise.resolve();
  private bossStarted = false;
  readonly runsHandlers: boolean;

  constructor(
    private readonly executor: TrackedExecutor,
    private readonly settings: JobQueueSettings,
    private readonly log: FastifyBaseLogger,
  ) {
    this.runsHandlers = settings.role !== 'api';
    this.boss = new PgBoss({
      db: executor,
      schema: 'pgboss',
      // Installed by the migrations (0006); pg-boss still migrates its schema itself after an upgrade.
      migrate: true,
      supervise: true,
      schedule: true,
      pollingIntervalSeconds: settings.pollingIntervalSeconds,
    });
    this.boss.on('error', (error) => this.log.error({ err: error }, 'job queue error'));
  }

  get role(): ProcessRole {
    return this.settings.role;
  }

  /**
   * Declares job `name`: its handler and queue options. Every process registers every job (an api
   * process needs the queue to exist to send to it); only worker processes run the handler. Resolves
   * once the queue exists and, if this process works, its workers run (at once before start).
   */
  async register<K extends JobName>(
    name: K,
    handler: JobHandler<PayloadOf<K>>,
    options: QueueOptions = {},
  ): Promise<void> {
    if (this.registrations.has(name)) throw new Error(`job ${name} is already registered`);
    const deadLetter = options.deadLetter === true ? `${name}.dead-letter` : options.deadLetter || null;
    const registration: Registration = {
      name,
      handler: handler as unknown as JobHandler<JobPayload>,
      options,
      deadLetter,
      prepared: false,
      workerIds: [],
    };
    this.registrations.set(name, registration);
    if (this.state !== 'running') return;
    await this.setup(() => this.prepareQueues());
    if (this.runsHandlers) await this.setup(() => this.startWorkers());
  }

  /**
   * Runs job `name` on a cron schedule (5 fields, UTC unless `tz`), with `data`, in worker processes;
   * several processes share one schedule (pg-boss sends each slot once).
   */
  async schedule<K extends JobName>(
    name: K,
    cron: string,
    data: PayloadOf<K>,
    options: { tz?: string } = {},
  ): Promise<void> {
    checkPayload(name, data);
    this.schedules.set(name, { cron, data, tz: options.tz ?? 'UTC' });
    if (this.state === 'running' && this.runsHandlers) await this.setup(() => this.applySchedules());
  }

  /**
   * Sends a job now, outside any transaction; resolves with its id, or null when the queue's policy
   * or singletonKey refused a duplicate. Inside a unit of work use `work.enqueue` instead (on PGlite
   * a send from inside a write would wait for that write to end).
   */
  send<K extends JobName>(name: K, data: PayloadOf<K>, options: SendOptions = {}): Promise<string | null> {
    return this.sendOn(null, name, data, options);
  }

  /** Sends a job in an open transaction (what `work.enqueue` calls): it exists only if that transaction commits. */
  sendIn<K extends JobName>(
    tx: Executor,
    name: K,
    data: PayloadOf<K>,
    options: SendOptions = {},
  ): Promise<string | null> {
    return this.sendOn(transactionExecutor(tx), name, data, options);
  }

  /**
   * Sends several jobs of one name in an open transaction, in one statement (pg-boss `insert`, with
   * the queue's retry and dead-letter settings): they exist only if that transaction commits.
   */
  async insertIn<K extends JobName>(tx: Executor, name: K, items: PayloadOf<K>[]): Promise<void> {
    if (items.length === 0) return;
    const registration = this.registrations.get(name);
    if (!registration) throw new Error(`job ${name} is not registered`);
    for (const data of items) checkPayload(name, data);
    const { priority } = registration.options;
    await this.boss.insert(
      items.map((data) => defined({ name, data, priority })),
      { db: transactionExecutor(tx) },
    );
  }

  /** Wakes this process's idle workers of job `name` (after a commit that enqueued one). */
  notify(name: string): void {
    for (const id of this.registrations.get(name)?.workerIds ?? []) this.boss.notifyWorker(id);
  }

  private async sendOn(
    db: SqlExecutor | null,
    name: string,
    data: unknown,
    options: SendOptions,
  ): Promise<string | null> {
    const registration = this.registrations.get(name);
    if (!registration) throw new Error(`job ${name} is not registered`);
    checkPayload(name, data);
    const { startAfter, priority, ...rest } = options;
    return this.boss.send(
      name,
      data,
      defined({
        ...rest,
        priority: priority ?? registration.options.priority,
        ...(startAfter === undefined
          ? {}
          : { startAfter: startAfter instanceof Date ? startAfter.toISOString() : Math.max(0, Math.ceil(startAfter)) }),
        ...(db ? { db } : {}),
      }),
    );
  }

  /**
   * Makes the queues of every registered job (what sending needs). In a process that runs jobs, then
   * starts pg-boss (its maintenance and cron clock), the cron schedules and the workers, in the
   * background: the app serves without waiting for them (`settled()` waits).
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    await this.setup(() => this.prepareQueues());
    if (!this.runsHandlers) return;
    this.setup(async () => {
      await this.boss.start();
      this.bossStarted = true;
      await this.applySchedules();
      await this.startWorkers();
    }).catch((error: unknown) => this.log.error({ err: error }, 'the job workers did not start'));
  }

  /** Resolves once every registration so far has its queue and (in a worker process) its workers. */
  async settled(): Promise<void> {
    await this.chain;
  }

  /**
   * Stops the workers: no new job is taken; running handlers get up to stopTimeoutMs to finish, then
   * their jobs are failed (and retried later, by this or another process). Resolves before the
   * database may close.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    await this.chain;
    if (this.bossStarted) {
      await this.boss.stop({ graceful: true, wait: true, close: false, timeout: this.settings.stopTimeoutMs });
      await this.executor.idle(this.settings.stopTimeoutMs);
    }
    this.state = 'stopped';
  }

  /** Unfinished jobs per name (queued, waiting for a retry, running), and whether this process works. */
  async stats(): Promise<JobStats> {
    const { rows } = await this.executor.executeSql(
      `select name, state::text as state, count(*)::int as count from pgboss.job
       where state < 'completed' and name not like '\\_\\_pgboss%' group by name, state`,
      [],
    );
    const queues: JobStats['queues'] = {};
    for (const name of this.registrations.keys()) queues[name] = { queued: 0, retry: 0, active: 0 };
    for (const row of rows as { name: string; state: string; count: number }[]) {
      const entry = (queues[row.name] ??= { queued: 0, retry: 0, active: 0 });
      if (row.state === 'created') entry.queued = Number(row.count);
      else if (row.state === 'retry') entry.retry = Number(row.count);
      else if (row.state === 'active') entry.active = Number(row.count);
    }
    return { role: this.settings.role, working: this.bossStarted && this.state === 'running', queues };
  }

  private setup(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }

  /** Creates missing queues (dead-letter queues first) and brings changed options up to date. */
  private async prepareQueues(): Promise<void> {
    const registrations = [...this.registrations.values()].filter((r) => !r.prepared);
    if (registrations.length === 0) return;
    const wanted = new Map<string, PgBoss.Queue>();
    for (const r of registrations) {
      if (r.deadLetter && !this.registrations.has(r.deadLetter))
        wanted.set(r.deadLetter, { name: r.deadLetter, policy: 'standard' });
    }
    for (const r of registrations) {
      const { policy, retryLimit, retryDelay, retryBackoff, expireInSeconds } = r.options;
      wanted.set(
        r.name,
        defined({
          name: r.name,
          policy: policy ?? 'standard',
          retryLimit,
          retryDelay,
          retryBackoff,
          expireInSeconds,
          ...(r.deadLetter ? { deadLetter: r.deadLetter } : {}),
        }),
      );
    }
    const { rows } = await this.executor.executeSql(
      `select name, policy, retry_limit, retry_delay, retry_backoff, expire_seconds, dead_letter
       from pgboss.queue where name = any($1::text[])`,
      [[...wanted.keys()]],
    );
    const existing = new Map(
      (
        rows as {
          name: string;
          policy: QueuePolicy | null;
          retry_limit: number | null;
          retry_delay: number | null;
          retry_backoff: boolean | null;
          expire_seconds: number | null;
          dead_letter: string | null;
        }[]
      ).map((row) => [row.name, row]),
    );
    for (const [name, queue] of wanted) {
      const row = existing.get(name);
      if (!row) {
        await this.boss.createQueue(name, queue);
        continue;
      }
      const same =
        (row.policy ?? 'standard') === queue.policy &&
        (queue.retryLimit === undefined || row.retry_limit === queue.retryLimit) &&
        (queue.retryDelay === undefined || row.retry_delay === queue.retryDelay) &&
        (queue.retryBackoff === undefined || row.retry_backoff === queue.retryBackoff) &&
        (queue.expireInSeconds === undefined || row.expire_seconds === queue.expireInSeconds) &&
        (queue.deadLetter === undefined || row.dead_letter === queue.deadLetter);
      if (!same) await this.boss.updateQueue(name, queue);
    }
    for (const r of registrations) r.prepared = true;
  }

  /** Starts the workers of the registrations that have none yet. */
  private async startWorkers(): Promise<void> {
    if (!this.bossStarted || this.state !== 'running') return;
    for (const r of this.registrations.values()) {
      if (r.workerIds.length > 0) continue;
      const interval = r.options.pollingIntervalSeconds ?? this.settings.pollingIntervalSeconds;
      for (let i = 0; i < Math.max(1, r.options.concurrency ?? 1); i++) {
        const id = await this.boss.work<JobPayload>(
          r.name,
          { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: interval },
          async ([job]) => (job ? this.run(r, job) : null),
        );
        r.workerIds.push(id);
      }
    }
  }

  /** Writes the cron schedules, only where they changed (every worker process does this at start). */
  private async applySchedules(): Promise<void> {
    if (this.schedules.size === 0) return;
    const current = new Map((await this.boss.getSchedules()).map((s) => [s.name, s]));
    for (const [name, { cron, data, tz }] of this.schedules) {
      const now = current.get(name) as { cron: string; timezone?: string; data?: unknown } | undefined;
      if (now && now.cron === cron && now.timezone === tz && JSON.stringify(now.data) === JSON.stringify(data))
        continue;
      await this.boss.schedule(name, cron, data, { tz });
    }
  }

  /** One run: the handler with Wardline acting for the job's organization; a failure is logged and rethrown for a retry. */
  private async run(registration: Registration, job: PgBoss.JobWithMetadata<JobPayload>): Promise<JobResult | null> {
    // A job fetched while stopping is handed back (failed, so retried later) rather than started.
    if (this.state === 'stopping' || this.state === 'stopped') throw new Error('the worker is shutting down');
    const data = job.data;
    const attempt = job.retryCount + 1;
    const acting = typeof data.organizationId === 'string' ? systemActing(data.organizationId, data.requestId) : null;
    const run: JobRun<JobPayload> = { id: job.id, name: job.name, data, attempt, acting: acting as never };
    const log = {
      job: job.name,
      jobId: job.id,
      attempt,
      organizationId: data.organizationId,
      requestId: data.requestId,
    };
    try {
      const result = await registration.handler(run);
      this.log.debug(log, 'job completed');
      return result ?? null;
    } catch (error) {
      const last = job.retryCount >= job.retryLimit;
      this.log.warn(
        { ...log, error: errorMessage(error), last },
        last ? 'job failed for good' : 'job failed; it will be retried',
      );
      throw error;
    }
  }
}
