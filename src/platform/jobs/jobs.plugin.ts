import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, commonErrors, ErrorBody } from '../http/errors.js';
import { IdParams } from '../http/ids.js';
import { pageOf, PageQuery } from '../http/pagination.js';
import { JOB_STATES } from './job-map.js';
import { JobQueue, type ProcessRole } from './job-queue.js';
import { JobRecords } from './job-records.js';
import { scheduleRetention } from './retention.js';
import { databaseExecutor } from './sql-executor.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The job queue: register handlers, schedule, send (see README, "Jobs"). */
    jobs: JobQueue;
  }
}

export interface JobsPluginOptions {
  role: ProcessRole;
  pollingIntervalSeconds: number;
  stopTimeoutMs: number;
  /** Delivered outbox messages are deleted once this many days old (the `outbox.prune` job, daily). */
  outboxRetentionDays: number;
}

const Job = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.enum(JOB_STATES as [string, ...string[]]),
    priority: z.number().int(),
    attempts: z.number().int().describe('Runs started so far (a retry is a new attempt).'),
    retryLimit: z.number().int(),
    requestId: z.string().nullable().describe('The request that enqueued the job.'),
    singletonKey: z.string().nullable(),
    createdOn: z.string(),
    startAfter: z.string(),
    startedOn: z.string().nullable(),
    completedOn: z.string().nullable(),
    result: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .nullable()
      .describe("What a completed job's handler returned (ids and counts)."),
    error: z.string().nullable().describe('Why the last attempt failed (retrying or failed jobs).'),
  })
  .meta({ id: 'Job' });

const JobListQuery = PageQuery.extend({
  state: z.enum(JOB_STATES as [string, ...string[]]).optional(),
  name: z.string().min(1).max(100).optional().describe('Only jobs of this name (e.g. outbox.prune).'),
});

const tags = ['jobs'];
const read = { permission: 'jobs:read' } as const;

/** The paths a worker process serves: its health, for the orchestrator; everything else is the api's. */
function workerServes(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return path === '/health' || path.startsWith('/health/') || path === '/metrics';
}

/**
 * For ROLE=worker: answers 404 to everything but /health, /health/* and /metrics. Added right after
 * the HTTP plugin (app.ts), so nothing else (auth, rate limits) runs first.
 */
export function workerOnlyHttp(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (!workerServes(request))
      throw new AppError('NOT_FOUND', 'this process runs jobs (ROLE=worker); the API is served by ROLE=api or all');
  });
}

/**
 * The job queue on the app (`app.jobs`), started when the app is ready and stopped (gracefully) before
 * the database closes; the unit of work enqueues through it (`work.enqueue`); the jobs API.
 */
export const jobsPlugin = fp(
  async (app: FastifyInstance, opts: JobsPluginOptions) => {
    const queue = new JobQueue(
      databaseExecutor(app.database),
      { role: opts.role, pollingIntervalSeconds: opts.pollingIntervalSeconds, stopTimeoutMs: opts.stopTimeoutMs },
      app.log.child({ module: 'jobs' }),
    );
    app.decorate('jobs', queue);
    app.uow.useJobs(queue);
    app.addHook('onReady', () => queue.start());
    app.addHook('preClose', () => queue.stop());

    // Housekeeping: the outbox keeps delivered messages until this prunes them.
    await scheduleRetention(queue, 'outbox.prune', '17 3 * * *', {
      days: opts.outboxRetentionDays,
      now: () => app.now(),
      prune: (before) => app.outbox.prune(before),
    });

    const records = new JobRecords(app.database.db);
    const r = app.withTypeProvider<ZodTypeProvider>();
    r.get(
      '/api/v1/jobs/:id',
      {
        config: read,
        schema: {
          tags,
          summary: "One of the organization's jobs: state, attempts, timestamps, result or error",
          params: IdParams,
          response: { 200: Job, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => records.get(request.tenant.organizationId, request.params.id),
    );
    r.get(
      '/api/v1/jobs',
      {
        config: read,
        schema: {
          tags,
          summary: "The organization's jobs, newest first",
          querystring: JobListQuery,
          response: { 200: pageOf(Job), ...commonErrors },
        },
      },
      async (request) =>
        records.list(request.tenant.organizationId, {
          limit: request.query.limit,
          cursor: request.query.cursor,
          name: request.query.name,
          state: request.query.state as (typeof JOB_STATES)[number] | undefined,
        }),
    );
  },
  { name: 'jobs', dependencies: ['db', 'kit'] },
);
