import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { createStaffedOrganization } from '../../src/demo/demo-tenant.js';
import { hashPassword, insertPasswordAccounts } from '../../src/platform/auth/first-admin.js';
import { type Database, openDatabase } from '../../src/platform/db/database.js';
import { ROLES, type Role } from '../../src/platform/permissions.js';
import type { TenantContext } from '../../src/platform/tenancy/context.js';
import { connectRedis, type Redis } from '../../src/platform/redis.js';
import { loadPgliteTemplate, withDatabase } from './template.js';

export const PASSWORD = 'correct-horse-battery-staple';
/** A Redis URL where nothing listens. */
export const UNREACHABLE_REDIS = 'redis://127.0.0.1:1';

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: Database;
  redis: Redis | null;
  close(): Promise<void>;
}

/**
 * A fresh PostgreSQL database for one test file, dropped by `drop`: empty, or a copy of `template`
 * (buildTestApp passes the run's migrated template, made by test/global-setup.ts).
 */
export async function createScratchDatabase(url: string, template?: string | null) {
  const name = `wardline_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
        break;
      } catch (error) {
        // 55006: the template is in use. Nothing connects to it, but a CREATE DATABASE copying it may
        // still count; a moment later it is free.
        if ((error as { code?: string }).code !== '55006' || attempt === 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(url, name),
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** Deletes every Redis key under a prefix. */
export async function deleteKeys(redis: Redis, prefix: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Boots the real app on its own database: in-memory PGlite by default, or a scratch database
 * on the server in DATABASE_URL (and a private Redis key prefix when REDIS_URL is set).
 */
export async function buildTestApp(
  env: Record<string, string> = {},
  options: { now?: () => Date; logStream?: { write(line: string): void } } = {},
): Promise<TestApp> {
  const base = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL });
  const scratch = base.DATABASE_URL
    ? await createScratchDatabase(base.DATABASE_URL, inject('postgresTemplate'))
    : undefined;
  const prefix = `wardline-test:${randomBytes(6).toString('hex')}:`;
  try {
    return await buildOn(scratch, base.REDIS_URL, prefix, env, options);
  } catch (error) {
    // A refused configuration (tests check those) or a failed start must not leave its database behind.
    await scratch?.drop();
    throw error;
  }
}

async function buildOn(
  scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined,
  redisUrl: string | undefined,
  prefix: string,
  env: Record<string, string>,
  options: { now?: () => Date; logStream?: { write(line: string): void } },
): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    AUTH_SECRET: randomBytes(32).toString('hex'),
    DATABASE_URL: scratch?.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    ...env,
  });
  const pgliteTemplate = inject('pgliteTemplate');
  const database = config.DATABASE_URL
    ? await openDatabase({ url: config.DATABASE_URL, poolSize: 4 })
    : await openDatabase({
        dataDir: 'memory://',
        loadDataDir: pgliteTemplate ? loadPgliteTemplate(pgliteTemplate) : undefined,
      });
  // A no-op on the template's copy, unless a migration was added since the template was made.
  await database.migrate();
  const redis = config.REDIS_URL ? connectRedis(config.REDIS_URL) : null;
  const app = await buildApp(config, {
    database,
    redis,
    authSecret: config.AUTH_SECRET!,
    now: options.now,
    logStream: options.logStream,
  });
  await app.ready();
  return {
    app,
    config,
    database,
    redis,
    async close() {
      await app.close();
      await database.close();
      if (redis) {
        // Some tests point REDIS_URL at nothing, to see Wardline cope without it.
        if (redis.status === 'ready') await deleteKeys(redis, prefix);
        await redis.quit().catch(() => redis.disconnect());
      }
      await scratch?.drop();
    },
  };
}

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

export interface Tenant {
  organizationId: string;
  slug: string;
  users: Record<Role, TestUser>;
}

let passwordHash: Promise<string> | undefined;

/** Better Auth's hash of PASSWORD, made once per test process: hashing is slow by design. */
export function passwordHashOf(app: FastifyInstance): Promise<string> {
  passwordHash ??= hashPassword(app.auth, PASSWORD);
  return passwordHash;
}

/** Signs in through the real auth route and returns the bearer token. */
export async function signIn(app: FastifyInstance, email: string, password = PASSWORD): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/auth/sign-in/email', payload: { email, password } });
  if (response.statusCode !== 200)
    throw new Error(`sign-in of ${email} failed: ${response.statusCode} ${response.body}`);
  return response.json<{ token: string }>().token;
}

/** A new organization with one signed-in user per role. */
export async function createTenant(app: FastifyInstance, label = randomUUID().slice(0, 8)): Promise<Tenant> {
  const slug = `tenant-${label}`;
  const staff = ROLES.map((role) => ({ email: `${role}.${label}@example.test`, name: `Test ${role}`, role }));
  const { organizationId, userIds } = await createStaffedOrganization(app.auth, app.database.db, {
    name: `Test Hospital ${label}`,
    slug,
    synthetic: true,
    staff,
    password: PASSWORD,
    passwordHash: await passwordHashOf(app),
  });
  const tokens = await Promise.all(staff.map((person) => signIn(app, person.email)));
  const users = Object.fromEntries(
    staff.map((person, i) => [person.role, { id: userIds[person.email]!, email: person.email, token: tokens[i]! }]),
  ) as Record<Role, TestUser>;
  return { organizationId, slug, users };
}

/** A platform admin, signed in. */
export async function createPlatformAdmin(app: FastifyInstance): Promise<TestUser> {
  const email = `root.${randomUUID().slice(0, 8)}@example.test`;
  // The rows Better Auth's admin createUser writes, without hashing the password again.
  const ids = await insertPasswordAccounts(app.database.db, [
    { email, name: 'Root', passwordHash: await passwordHashOf(app), platformRole: 'admin' },
  ]);
  return { id: ids.get(email)!, email, token: await signIn(app, email) };
}

/** `app.inject` as a bearer-token caller. */
export function as(app: FastifyInstance, token: string | undefined, headers: Record<string, string> = {}) {
  return (options: InjectOptions) =>
    app.inject({
      ...options,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers, ...options.headers },
    });
}

/**
 * The context a tenant route would give `role` of `tenant`: for tests that call a service or the unit
 * of work directly, without an HTTP request.
 */
export function tenantContext(tenant: Tenant, role: Role, requestId: string): TenantContext {
  return {
    requestId,
    user: { id: tenant.users[role].id, email: tenant.users[role].email, name: '', platformAdmin: false },
    authMethod: 'bearer',
    sessionId: 'test',
    apiKeyId: null,
    client: { ip: null, userAgent: null },
    memberships: [{ organizationId: tenant.organizationId, role }],
    organizationId: tenant.organizationId,
    role,
  };
}
