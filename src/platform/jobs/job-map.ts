import type { ActingContext } from '../db/unit-of-work.js';

/**
 * What every job payload carries: the tenant it acts for (null only for platform housekeeping that
 * belongs to no organization) and the request that caused it (null for cron and start-up).
 * Payloads hold ids and small scalars, never patient data: they sit in pgboss.job as plain JSON.
 */
export interface JobPayload {
  organizationId: string | null;
  requestId: string | null;
}

/**
 * The jobs Wardline runs, by name, with their payloads. Modules add theirs by declaration merging:
 * `declare module '../../platform/jobs/job-map.js' { interface JobMap { 'alert.escalate': {
 * organizationId: string; requestId: string | null; alertId: string; tier: number } } }`.
 * An entry whose payload lacks organizationId or requestId cannot be sent or registered (its payload
 * type becomes `never`).
 */
export interface JobMap {
  /** Deletes delivered outbox messages older than OUTBOX_RETENTION_DAYS (daily, cron). */
  'outbox.prune': { organizationId: null; requestId: null };
}

export type JobName = Extract<keyof JobMap, string>;

/** The payload of job `K`, or `never` when its JobMap entry does not carry the tenant and request id. */
export type PayloadOf<K extends JobName> = JobMap[K] extends JobPayload ? JobMap[K] : never;

/** What `work.enqueue` takes: the payload without the tenant and request id, which the unit of work adds. */
export type JobInput<K extends JobName> = Omit<PayloadOf<K>, 'organizationId' | 'requestId'>;

/** Job names whose payload names an organization: the ones a unit of work (always a tenant's) may enqueue. */
export type TenantJobName = {
  [K in JobName]: PayloadOf<K> extends { organizationId: string } ? K : never;
}[JobName];

/** pg-boss 10 queue policies: see README, "Jobs". */
export type QueuePolicy = 'standard' | 'short' | 'singleton' | 'stately';

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
export const JOB_STATES: readonly JobState[] = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'];

/** Per-job-name settings, fixed when the job is registered (kept in pgboss.queue). */
export interface QueueOptions {
  /**
   * standard (default); short: at most one queued job per singletonKey; singleton: at most one
   * running per singletonKey; stately: at most one queued and one running per singletonKey.
   */
  policy?: QueuePolicy;
  /** Retries after the first attempt (default 2). */
  retryLimit?: number;
  /** Seconds before a retry (default 0; at least 1 with retryBackoff). */
  retryDelay?: number;
  /** Exponential backoff: the n-th retry waits retryDelay * 2^n seconds, give or take half (jitter). */
  retryBackoff?: boolean;
  /** A run that takes longer fails (and is retried); default 15 minutes. */
  expireInSeconds?: number;
  /** Jobs whose last retry failed are copied there: true for `<name>.dead-letter`, or a queue name. */
  deadLetter?: boolean | string;
  /** Default priority of this job's sends (higher runs first; default 0). */
  priority?: number;
  /** How often an idle worker looks for jobs (default JOBS_POLL_INTERVAL_SECONDS; at least 0.5). */
  pollingIntervalSeconds?: number;
  /** Jobs of this name one process runs at once (default 1). */
  concurrency?: number;
}

/** Per-send settings. */
export interface SendOptions {
  /** Higher runs first; default the queue's `priority`, else 0. */
  priority?: number;
  /** Not before this time (a Date), or this many seconds from now (a delayed job). */
  startAfter?: Date | number;
  /** An id (never patient data) that deduplicates under the queue's policy, or with singletonSeconds. */
  singletonKey?: string;
  /** At most one job per singletonKey in each window of this many seconds (throttling). */
  singletonSeconds?: number;
  retryLimit?: number;
  retryDelay?: number;
  retryBackoff?: boolean;
  expireInSeconds?: number;
  /** A chosen job id (a UUID), e.g. to store with the record the job acts on. */
  id?: string;
}

/** What a handler may return: it is kept as the job's output and shown by the jobs API (ids and counts). */
export type JobResult = Record<string, string | number | boolean | null>;

/** One run of a job, as its handler sees it. */
export interface JobRun<P extends JobPayload> {
  id: string;
  name: string;
  data: P;
  /** 1 on the first run; more after failures or a crash (handlers must be safe to run twice). */
  attempt: number;
  /** Wardline acting for the job's organization (systemActing(organizationId, requestId)); null for platform jobs. */
  acting: P extends { organizationId: string } ? ActingContext : null;
}

export type JobHandler<P extends JobPayload> = (job: JobRun<P>) => Promise<JobResult | void>;
