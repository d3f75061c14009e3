import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../http/errors.js';
import { LIMITS } from './load-run.js';
import { LoadTestsService } from './load-tests.service.js';
import { ScenarioName } from './scenarios.js';

declare module 'fastify' {
  interface FastifyInstance {
    loadTests: LoadTestsService;
  }
}

const StartLoadTest = z.strictObject({
  scenario: ScenarioName,
  connections: z.number().int().min(1).max(LIMITS.connections).default(50),
  durationSeconds: z.number().int().min(1).max(LIMITS.durationSeconds).default(10),
});

const Latency = z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number() });
const Report = z.object({
  scenario: ScenarioName,
  connections: z.number(),
  durationSeconds: z.number(),
  requests: z.number(),
  rps: z.number(),
  latencyMs: Latency,
  errors: z.number(),
  non2xx: z.number(),
  socketErrors: z.number(),
  timeouts: z.number(),
  statusCodes: z.record(z.string(), z.number()),
  coldReads: z.object({ distinctIds: z.number(), wrapped: z.boolean() }).optional(),
});
const LoadTest = z.object({
  id: z.uuid(),
  scenario: ScenarioName,
  connections: z.number(),
  durationSeconds: z.number(),
  status: z.enum(['preparing', 'running', 'finished', 'failed', 'stopped']),
  startedBy: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: z.object({ elapsedSeconds: z.number(), requests: z.number(), errors: z.number() }),
  report: Report.nullable(),
  error: z.string().nullable(),
});
const LoadTestParams = z.object({ id: z.uuid() });

const tags = ['admin'];

/**
 * Platform admins load this same server (its own listening address, never another host): one bounded
 * run at a time, in the background, against a synthetic organization (load-test-account.ts).
 */
export const loadTestsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('loadTests', new LoadTestsService(app));
    app.addHook('preClose', () => app.loadTests.stop());
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/admin/load-tests',
      {
        config: { access: 'platform-admin' },
        schema: {
          tags,
          summary: `Start a load test of this server (at most ${LIMITS.connections} connections for ${LIMITS.durationSeconds} s; one at a time)`,
          body: StartLoadTest,
          response: { 202: LoadTest, ...commonErrors, 409: ErrorBody, 503: ErrorBody },
        },
      },
      async (request, reply) => reply.code(202).send(app.loadTests.start(request.ctx, request.body)),
    );

    r.get(
      '/api/v1/admin/load-tests/:id',
      {
        config: { access: 'platform-admin' },
        schema: {
          tags,
          summary: 'A load test: its progress while it runs, its report once it has finished',
          params: LoadTestParams,
          response: { 200: LoadTest, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.loadTests.get(request.params.id),
    );
  },
  { name: 'load-tests', dependencies: ['kit', 'tenancy'] },
);
