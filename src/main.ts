import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { seedDemoAlerts } from './demo/demo-alerts.js';
import { hasDemoTenant, seedDemoTenant } from './demo/demo-tenant.js';
import { countUsers, ensurePlatformAdmin } from './platform/auth/first-admin.js';
import { resolveAuthSecret } from './platform/auth/secret.js';
import { lockDataDir } from './platform/db/data-dir-lock.js';
import { type Database, openDatabase } from './platform/db/database.js';
import { connectRedis } from './platform/redis.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** What runs degraded while Redis is unreachable (README, "Running against PostgreSQL and Redis"). */
function redisDown(url: string): string[] {
  const { host } = new URL(url);
  return [
    `WARNING: Redis at ${host} is unreachable. Until it answers, the cache is this process's memory and`,
    'the database, other instances learn of sign-outs only when it is back, and the per-IP sign-in limit is',
    'not counted (the per-account lockout still is). Wardline keeps trying; /health/ready reports Redis down.',
  ];
}

/** What each process role does (README, "Jobs"). */
const ROLE_NOTES: Record<Config['ROLE'], string> = {
  all: ' (HTTP and jobs)',
  api: ' (HTTP only; jobs are enqueued for ROLE=worker processes)',
  worker: ' (jobs; HTTP answers /health only)',
};

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Calls `stop` on the first SIGTERM or SIGINT. A terminal's Ctrl-C reaches the server twice under
 * `npm start` (from the terminal, and forwarded by npm), so the same signal again within a second is
 * that one keypress; any later one means "stop now", and the process exits 1 without waiting.
 */
function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (!first) {
      first = { signal, at: Date.now() };
      stop(signal);
    } else if (signal !== first.signal || Date.now() - first.at > 1000) {
      console.error(`Second ${signal}: exiting without waiting for requests in flight.`);
      process.exit(1);
    }
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handle);
}

async function connect(config: Config): Promise<Database> {
  const where = config.DATABASE_URL
    ? `DATABASE_URL: cannot use the database at ${new URL(config.DATABASE_URL).host}`
    : `DATA_DIR: cannot keep the embedded database in ${config.DATA_DIR}`;
  let database: Database | undefined;
  try {
    database = config.DATABASE_URL
      ? await openDatabase({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE })
      : await openDatabase({ dataDir: config.pgliteDir });
    await database.ping();
    await database.migrate();
    return database;
  } catch (error) {
    await database?.close().catch(() => {});
    const password = config.DATABASE_URL ? decodeURIComponent(new URL(config.DATABASE_URL).password) : '';
    const reason = reasonOf(error);
    throw new ConfigError([`${where} (${password ? reason.replaceAll(password, '***') : reason})`]);
  }
}

const SYSTEM_ERRORS: Partial<Record<string, string>> = {
  ECONNREFUSED: 'nothing accepts connections there',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'no answer',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'the host cannot be reached',
  ENOTDIR: 'a file is in the way of a folder',
  EEXIST: 'a file is in the way of a folder',
  EACCES: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/**
 * The most telling part of a start-up error. A PostgreSQL error says what is wrong in its message
 * (`database "x" does not exist`, 3D000; `role "x" does not exist`, 28000), with its SQLSTATE; a
 * system error has its code (drizzle and PGlite wrap it as the cause).
 */
function reasonOf(error: unknown): string {
  const cause = ((error as { cause?: unknown }).cause ?? error) as {
    code?: string;
    message?: string;
    severity?: string;
  };
  if (cause.severity && cause.code && cause.message) return `${cause.message}, SQLSTATE ${cause.code}`;
  const system = cause.code ? SYSTEM_ERRORS[cause.code] : undefined;
  if (system) return `${cause.code}: ${system}`;
  return cause.code ?? cause.message ?? 'unknown error';
}

/** Listening fails on the host or port, not in Wardline: say which setting to change. */
function listenProblem(error: unknown, config: Config): ConfigError | undefined {
  const code = (error as { code?: string }).code ?? '';
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError([`PORT: ${config.PORT} is already in use on ${config.HOST}`]);
    case 'EACCES':
      return new ConfigError([`PORT: not allowed to listen on ${config.PORT} (ports below 1024 need privileges)`]);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError([`HOST: cannot listen on ${config.HOST} (${code}); use an address of this machine`]);
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  // One process per embedded database: a second server, or npm run seed, on the same folder is refused.
  if (config.embedded) lockDataDir(config.DATA_DIR, 'server');
  const database = await connect(config);
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
  const emptyDatabase = (await countUsers(database.db)) === 0;

  const app = await buildApp(config, { database, redis, authSecret: resolveAuthSecret(config), ownsConnections: true });
  await app.ready();

  const notes: string[] = [];
  if (emptyDatabase && config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    await ensurePlatformAdmin(app.auth, database.db, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });
    notes.push(`Created the platform admin ${config.ADMIN_EMAIL}.`);
  }
  if (emptyDatabase && config.demoEnabled) {
    const demo = await seedDemoTenant(app.auth, database.db, config.DEMO_PASSWORD);
    await seedDemoAlerts(database.db, app.alerts, demo.organizationId, demo.staff);
    notes.push(
      'Loaded the SYNTHETIC demo tenant "Demo General Hospital" (invented people; for evaluation only,',
      'never for real patients). Sign in as any of these, password from DEMO_PASSWORD',
      `(default demo-password-123): ${demo.emails.join(', ')}`,
    );
  } else if (await hasDemoTenant(database.db)) {
    notes.push(
      'The SYNTHETIC demo tenant "Demo General Hospital" is loaded: its *@demo.test accounts share one password.',
    );
  }
  if (notes.some((note) => note.includes('SYNTHETIC')) && !LOOPBACK.has(config.HOST)) {
    notes.push(
      `WARNING: HOST=${config.HOST} exposes the demo accounts beyond this machine. Use HOST=127.0.0.1,`,
      'or a database without the demo tenant, for anything but a closed evaluation network.',
    );
  }

  // SIGTERM and SIGINT are handled below; close-with-grace keeps the other signals and fatal errors.
  const graceful = closeWithGrace(
    { delay: config.SHUTDOWN_TIMEOUT_MS, skip: [...STOP_SIGNALS] },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'shutting down after an error');
      else if (signal) app.log.info({ signal }, 'shutting down');
      await app.close();
    },
  );
  onStopSignal((signal) => {
    app.log.info({ signal }, 'shutting down');
    graceful.close();
  });

  try {
    await app.listen({ port: config.PORT, host: config.HOST, backlog: config.LISTEN_BACKLOG });
  } catch (error) {
    await app.close().catch(() => {});
    throw listenProblem(error, config) ?? error;
  }
  const base = config.publicUrl;
  // Start-up has waited REDIS_CONNECT_WAIT_MS for it already (the cache plugin).
  const redisReady = redis?.status === 'ready';
  console.log(
    [
      '',
      `Wardline is running on ${database.kind === 'pglite' ? `embedded PGlite (${config.DATA_DIR})` : 'PostgreSQL'}` +
        `${redisReady ? ' with Redis' : ''}.`,
      // Wardline serves without Redis (it may come back later); the banner says what that costs.
      ...(redis && !redisReady ? redisDown(config.REDIS_URL!) : []),
      `  API:       ${base}/api/v1/... (start with GET /api/v1/profile)`,
      `  API docs:  ${base}/api/docs`,
      `  Sign in:   POST ${base}/api/auth/sign-in/email`,
      `  Health:    ${base}/health/ready`,
      // ROLE=worker serves only /health (and /metrics); its workers stop before the database closes (app.close).
      `  Role:      ${config.ROLE}${ROLE_NOTES[config.ROLE]}`,
      ...(notes.length ? ['', ...notes] : []),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`Wardline cannot start. ${error.message}`);
  } else {
    console.error('Wardline failed to start:', error);
  }
  process.exit(1);
});
