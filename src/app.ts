import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { medicationsModule } from './modules/medications/medications.routes.js';
import { prescriptionsModule } from './modules/prescriptions/prescriptions.routes.js';
import { labsModule } from './modules/labs/labs.routes.js';
import { pharmacyModule } from './modules/pharmacy/pharmacy.routes.js';
import { insuranceModule } from './modules/insurance/insurance.routes.js';
import { billingModule } from './modules/billing/billing.routes.js';
import { dashboardModule } from './modules/dashboard/dashboard.routes.js';
import { alertsModule } from './modules/alerts/alerts.routes.js';
import { appointmentsModule } from './modules/appointments/appointments.routes.js';
import { encountersModule } from './modules/encounters/encounters.routes.js';
import { hospitalsModule } from './modules/hospitals/hospitals.routes.js';
import { invitationsModule } from './modules/invitations/invitations.routes.js';
import { organizationsModule } from './modules/organizations/organizations.routes.js';
import { patientsModule } from './modules/patients/patients.routes.js';
import { profileModule } from './modules/profile/profile.routes.js';
import { staffModule } from './modules/staff/staff.routes.js';
import { usersModule } from './modules/users/users.routes.js';
import { auditRoutes } from './platform/audit/audit.routes.js';
import { authPlugin } from './platform/auth/auth.plugin.js';
import { cachePlugin } from './platform/cache.js';
import { type Clock, systemClock } from './platform/clock.js';
import type { Database } from './platform/db/database.js';
import { dbPlugin } from './platform/db/db.plugin.js';
import { docsPlugin } from './platform/docs.plugin.js';
import { healthRoutes } from './platform/health.routes.js';
import { edgeServerOptions } from './platform/http/edge.js';
import { admissionPlugin } from './platform/http/admission.js';
import { httpPlugin, requestIdFrom } from './platform/http/http.plugin.js';
import { jsonBodyPlugin } from './platform/http/json-body.js';
import { loadSheddingPlugin } from './platform/http/load-shedding.js';
import { rateLimitsPlugin } from './platform/http/rate-limits.js';
import { jobsPlugin, workerOnlyHttp } from './platform/jobs/jobs.plugin.js';
import { kitPlugin } from './platform/kit.plugin.js';
import { loadTestsModule } from './platform/load-tests/load-tests.routes.js';
import { realtimePlugin } from './platform/realtime/realtime.plugin.js';
import type { Redis } from './platform/redis.js';
import { breakersPlugin } from './platform/resilience/breakers.plugin.js';
import { tenancyPlugin } from './platform/tenancy/tenancy.plugin.js';

export interface AppDependencies {
  database: Database;
  redis: Redis | null;
  /** Signs sessions and tokens. */
  authSecret: string;
  /** Whether closing the app also closes the database and Redis (true for the server process). */
  ownsConnections?: boolean;
  /** The clock, swappable in tests. */
  now?: Clock;
  /**
   * Whether reads are audited (default true). Only the benchmark turns it off, to measure what the
   * audit costs; it is deliberately not a setting.
   */
  auditReads?: boolean;
  /** Where logs go (stdout by default); tests capture them to check what they carry. */
  logStream?: { write(line: string): void };
}

function loggerOptions(config: Config, stream: AppDependencies['logStream']) {
  if (config.LOG_LEVEL === 'silent') return false;
  return {
    level: config.LOG_LEVEL,
    ...(stream ? { stream } : {}),
    // Credentials never reach the logs, and neither do query strings (they may hold search terms).
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        path: req.url.split('?')[0],
        remoteAddress: req.ip,
      }),
    },
  };
}

/** Builds the whole Wardline HTTP app on an opened database; `main.ts` and tests both use it. */
export async function buildApp(config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, deps.logStream),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A hop count or an address list, never `true`: X-Forwarded-For is believed only from known proxies.
    // (Fastify accepts a hop count at run time; its types omit it.)
    trustProxy: (config.TRUST_PROXY === 0 ? false : config.TRUST_PROXY) as boolean | string[],
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    // Timeouts, shutdown, and the answers given before a route is found, all in the error envelope.
    ...edgeServerOptions(config),
  });
  app.decorate('now', deps.now ?? systemClock);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(httpPlugin, { corsOrigins: config.CORS_ORIGINS });
  // Before anything that does work: a shed request costs nothing more.
  await app.register(loadSheddingPlugin, { settings: config });
  // Then the line for a turn (README, "Load shedding"): at most so many requests do their work at once.
  await app.register(admissionPlugin, {
    limit: config.MAX_CONCURRENT_REQUESTS,
    maxWaiting: config.MAX_WAITING_REQUESTS,
    maxWaitMs: config.MAX_REQUEST_WAIT_MS,
    retryAfterSeconds: config.LOAD_SHED_RETRY_AFTER_SECONDS,
  });
  await app.register(breakersPlugin, { settings: config });
  // A worker process serves its health only (README, "Jobs").
  if (config.ROLE === 'worker') workerOnlyHttp(app);
  await app.register(jsonBodyPlugin);
  await app.register(dbPlugin, { database: deps.database, closeOnShutdown: deps.ownsConnections ?? false });
  if (deps.redis && deps.ownsConnections) {
    const redis = deps.redis;
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  await app.register(cachePlugin, {
    redis: deps.redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    connectWaitMs: config.REDIS_CONNECT_WAIT_MS,
  });
  // Before the routes (its onRoute hook attaches the per-caller limits) and before authentication.
  await app.register(rateLimitsPlugin, {
    table: config.rateLimits,
    exemptIps: config.RATE_LIMIT_EXEMPT_IPS,
    redis: deps.redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
  });
  await app.register(authPlugin, {
    config,
    database: deps.database,
    secret: deps.authSecret,
    now: app.now,
  });
  await app.register(kitPlugin, { auditReads: deps.auditReads ?? true });
  await app.register(tenancyPlugin);
  await app.register(docsPlugin, { publicUrl: config.publicUrl });
  // The job queue (README, "Jobs"): modules registered below register their jobs on it.
  await app.register(jobsPlugin, {
    role: config.ROLE,
    pollingIntervalSeconds: config.JOBS_POLL_INTERVAL_SECONDS,
    stopTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    outboxRetentionDays: config.OUTBOX_RETENTION_DAYS,
  });
  await app.register(realtimePlugin, { config, redis: deps.redis });

  await app.register(healthRoutes, { redis: deps.redis });
  await app.register(auditRoutes);
  await app.register(invitationsModule);
  await app.register(organizationsModule);
  await app.register(usersModule);
  await app.register(profileModule);
  await app.register(hospitalsModule);
  await app.register(staffModule);
  await app.register(patientsModule);
  await app.register(appointmentsModule);
  await app.register(encountersModule);
  await app.register(medicationsModule);
  await app.register(prescriptionsModule);
  await app.register(labsModule);
  await app.register(pharmacyModule);
  await app.register(insuranceModule);
  await app.register(billingModule);
  await app.register(dashboardModule);
  await app.register(alertsModule, {
    config,
    engine: {
      intervalMs: config.ALERTS_ENGINE_INTERVAL_MS,
      batch: 100,
      // PGlite has one connection: its transactions run one at a time anyway.
      concurrency: deps.database.kind === 'pglite' ? 1 : 4,
    },
  });
  await app.register(loadTestsModule);
  return app;
}
