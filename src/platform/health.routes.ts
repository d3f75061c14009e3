import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { letThrough } from './http/load-shedding.js';
import type { Redis } from './redis.js';

/** `/health`'s answer. */
export const Liveness = z.object({ status: z.literal('ok'), uptimeSeconds: z.number() });

const DependencyStatus = z.object({ status: z.enum(['up', 'down']), latencyMs: z.number().optional() });
const Readiness = z.object({
  /** degraded: serving, with an outside service's circuit breaker open. */
  status: z.enum(['ready', 'degraded', 'unavailable']),
  dependencies: z.record(z.string(), DependencyStatus),
  pressure: z.object({
    underPressure: z.boolean(),
    eventLoopDelayMs: z.number().nullable(),
    heapUsedMB: z.number(),
    rssMB: z.number(),
    requests: z
      .object({ limit: z.number().int(), active: z.number().int(), waiting: z.number().int() })
      .describe('Requests being served and waiting their turn (MAX_CONCURRENT_REQUESTS; limit 0: none).'),
  }),
  breakers: z.array(
    z.object({
      name: z.string(),
      state: z.enum(['closed', 'open', 'half-open']),
      openHosts: z
        .number()
        .int()
        .describe(
          "How many hosts of the service (hospitals' webhook receivers, push services) have their own breaker open; not named here.",
        ),
    }),
  ),
  escalations: z
    .object({
      running: z.boolean(),
      healthy: z.boolean(),
      lastTickAt: z.string().nullable(),
      lateMs: z.object({ p50: z.number(), p99: z.number(), max: z.number(), samples: z.number() }),
    })
    .nullable()
    .describe("The alert escalation engine's heartbeat where it runs (ROLE all or worker); null elsewhere."),
});

/** What readiness reads of the escalation engine (the alerts module's), when there is one. */
interface EscalationHeartbeat {
  escalations?: {
    stats(): {
      running: boolean;
      healthy: boolean;
      lastTickAt: string | null;
      lateMs: { p50: number; p99: number; max: number; samples: number };
    };
  };
}

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
        response: { 200: Liveness },
      },
      // Written as it is: the answer is a literal and a rounded number, so checking it against its schema
      // (as every other answer is) protected nothing and was a tenth of this route's CPU. The schema
      // still documents it, and a test holds the two together.
      serializerCompiler: () => (data) => JSON.stringify(data),
      // Never refused: a refused probe would take a working instance out of rotation.
      config: { access: 'public', rateLimitExempt: true, pressureHandler: letThrough },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }),
  );

  r.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database, Redis when configured, load, circuit breakers, the escalation engine',
        description:
          'unavailable (503) when a dependency is down or requests are being shed; degraded (200) when an ' +
          "outside service's circuit breaker is open or the escalation engine's heartbeat is late.",
        security: [],
        response: { 200: Readiness, 503: Readiness },
      },
      // It reports the pressure itself, rather than being shed.
      config: { access: 'public', rateLimitExempt: true, pressureHandler: letThrough },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const { redis } = opts;
      // Taken first: the state the request arrived in, not the one after the probes.
      const pressure = { ...app.pressure(), requests: app.admission() };
      const dependencies: Record<string, z.infer<typeof DependencyStatus>> = {
        database: await probe(() => app.database.ping()),
        ...(redis ? { redis: await probe(() => redis.ping()) } : {}),
      };
      // The services' own breakers; a host's (a hospital's receiver) is counted, never named: this route is public.
      const breakers = app.breakers
        .stats()
        .filter((b) => !b.host)
        .map(({ name, state, openHosts }) => ({ name, state, openHosts: openHosts ?? 0 }));
      const engine = (app as unknown as EscalationHeartbeat).escalations?.stats();
      const escalations = engine?.running
        ? { running: true, healthy: engine.healthy, lastTickAt: engine.lastTickAt, lateMs: engine.lateMs }
        : null;
      const up = Object.values(dependencies).every((d) => d.status === 'up') && !pressure.underPressure;
      const degraded = breakers.some((b) => b.state !== 'closed') || (escalations !== null && !escalations.healthy);
      const status = !up ? 'unavailable' : degraded ? 'degraded' : 'ready';
      return reply.code(up ? 200 : 503).send({ status, dependencies, pressure, breakers, escalations });
    },
  );
}
