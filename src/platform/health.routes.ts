import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Redis } from './redis.js';

const DependencyStatus = z.object({ status: z.enum(['up', 'down']), latencyMs: z.number().optional() });
const Readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  dependencies: z.record(z.string(), DependencyStatus),
});

const CHECK_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<z.infer<typeof DependencyStatus>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return { status: 'down' };
  } finally {
    clearTimeout(timer);
  }
}

/** `/health`: the process answers (no I/O). `/health/ready`: its dependencies answer too. */
export async function healthRoutes(app: FastifyInstance, opts: { redis: Redis | null }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness',
        security: [],
        response: { 200: z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }) },
      },
      config: { access: 'public' },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }),
  );

  r.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database and, when configured, Redis',
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
      config: { access: 'public' },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const { redis } = opts;
      const dependencies: Record<string, z.infer<typeof DependencyStatus>> = {
        database: await probe(() => app.database.ping()),
        ...(redis ? { redis: await probe(() => redis.ping()) } : {}),
      };
      const ready = Object.values(dependencies).every((d) => d.status === 'up');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', dependencies });
    },
  );
}
