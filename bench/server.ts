/**
 * One benchmark server per process, so its memory can be read on its own:
 *   baseline  plain Fastify doing the same SQL as Wardline's routes (session lookup, memberships, lists)
 *   wardline            the real app (buildApp) with all its plugins
 *   wardline-unaudited  the same app with read auditing off (`auditReads: false`), to measure what
 *                       the audit of reads costs
 * Prints `READY <json>` with the credentials to use once it listens on 127.0.0.1. The Wardline
 * servers also answer `GET /bench/audit-stats` (the group commit's counters; bench-only route).
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createStaffedOrganization } from '../src/demo/demo-tenant.js';
import { members, organizations, sessions, users } from '../src/platform/auth/auth.schema.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { ROLES } from '../src/platform/permissions.js';
import { connectRedis } from '../src/platform/redis.js';
import { createScratchDatabase, deleteKeys } from '../test/helpers/test-app.js';

const KINDS = ['baseline', 'wardline', 'wardline-unaudited'] as const;
const [kind, port] = [process.argv[2], Number(process.argv[3])];
if (!KINDS.includes(kind as (typeof KINDS)[number])) throw new Error(`kind must be one of ${KINDS.join(', ')}`);
const PASSWORD = 'bench-password-123';

async function open(): Promise<{ database: Database; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) return { database: await openDatabase({ dataDir: 'memory://' }), drop: async () => {} };
  const scratch = await createScratchDatabase(url);
  return { database: await openDatabase({ url: scratch.url, poolSize: 10 }), drop: () => scratch.drop() };
}

async function baseline(database: Database) {
  const { db } = database;
  const [org] = await db.insert(organizations).values({ name: 'Bench', slug: 'bench' }).returning();
  const userRows = await db
    .insert(users)
    .values(ROLES.map((role) => ({ name: `Bench ${role}`, email: `${role}@bench.test` })))
    .returning();
  await db.insert(members).values(userRows.map((u, i) => ({ organizationId: org!.id, userId: u.id, role: ROLES[i]! })));
  const token = randomBytes(24).toString('hex');
  await db.insert(sessions).values({ token, userId: userRows[0]!.id, expiresAt: new Date(Date.now() + 3_600_000) });

  const app = Fastify({ logger: false });
  const caller = async (authorization: string | undefined) => {
    const [row] = await db
      .select({ id: users.id, email: users.email, name: users.name, role: users.role })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.token, authorization?.slice(7) ?? ''), gt(sessions.expiresAt, new Date())));
    if (!row) return undefined;
    const memberships = await db.select().from(members).where(eq(members.userId, row.id));
    return { row, memberships };
  };
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/api/v1/profile', async (request, reply) => {
    const found = await caller(request.headers.authorization);
    if (!found) return reply.code(401).send({ error: 'unauthenticated' });
    const ids = found.memberships.map((m) => m.organizationId);
    const orgs = await db.select().from(organizations).where(inArray(organizations.id, ids));
    return { user: found.row, organizations: orgs.map((o) => ({ id: o.id, name: o.name, slug: o.slug })) };
  });
  app.get('/api/v1/users', async (request, reply) => {
    const found = await caller(request.headers.authorization);
    if (!found) return reply.code(401).send({ error: 'unauthenticated' });
    const data = await db
      .select({ id: users.id, name: users.name, email: users.email, role: members.role, joinedAt: members.createdAt })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(eq(members.organizationId, found.memberships[0]!.organizationId))
      .orderBy(asc(members.createdAt), asc(members.userId))
      .limit(26);
    return { data, nextCursor: null };
  });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, token };
}

async function wardline(database: Database, auditReads: boolean) {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    PORT: String(port),
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: `wardline-bench:${randomBytes(6).toString('hex')}:`,
  });
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
  const app = await buildApp(config, { database, redis, authSecret: config.AUTH_SECRET!, auditReads });
  // Batches and events written by the group commit so far, and the time spent writing them (the
  // group commit's own statements, on the database rather than in a transaction): the runner reads
  // them around each round.
  let writeMs = 0;
  const append = app.auditLog.append.bind(app.auditLog);
  app.auditLog.append = async (executor, events) => {
    if (executor !== database.db) return append(executor, events);
    const started = performance.now();
    try {
      return await append(executor, events);
    } finally {
      writeMs += performance.now() - started;
    }
  };
  app.get('/bench/audit-stats', { config: { access: 'public' } }, async () => ({ ...app.auditLog.stats(), writeMs }));
  if (redis) {
    app.addHook('onClose', async () => {
      await deleteKeys(redis, config.REDIS_KEY_PREFIX);
      await redis.quit();
    });
  }
  await app.ready();
  const staff = ROLES.map((role) => ({ email: `${role}@bench.test`, name: `Bench ${role}`, role }));
  await createStaffedOrganization(app.auth, database.db, {
    name: 'Bench',
    slug: 'bench',
    synthetic: true,
    staff,
    password: PASSWORD,
  });
  const signIn = await app.inject({
    method: 'POST',
    url: '/api/auth/sign-in/email',
    payload: { email: 'admin@bench.test', password: PASSWORD },
  });
  await app.listen({ port, host: '127.0.0.1' });
  return { app, token: signIn.json<{ token: string }>().token };
}

const { database, drop } = await open();
await database.migrate();
const { app, token } =
  kind === 'baseline' ? await baseline(database) : await wardline(database, kind !== 'wardline-unaudited');
process.stdout.write(`READY ${JSON.stringify({ token })}\n`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => database.close())
    .then(drop)
    .finally(() => process.exit(0));
});
