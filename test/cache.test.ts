import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { connectRedis } from '../src/platform/redis.js';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
  signIn,
  type Tenant,
  type TestApp,
  UNREACHABLE_REDIS,
} from './helpers/test-app.js';

// Sessions and memberships are cached (memory, and Redis when configured). These tests show the
// cache never outlives a change made through Wardline, on one instance or across several.

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
});
afterAll(() => t.close());

async function sessionIdOf(app: FastifyInstance, token: string): Promise<string> {
  const res = await as(app, token)({ method: 'GET', url: '/api/v1/profile/sessions' });
  return res.json().data.find((s: { current: boolean }) => s.current).id;
}

describe('cached sessions and memberships on one instance', () => {
  it('serves repeated requests from the cache, and a sign-out ends the token at once', async () => {
    const token = await signIn(t.app, a.users.doctor.email);
    for (let i = 0; i < 3; i++) {
      expect((await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    }
    const out = await as(t.app, token)({ method: 'POST', url: '/api/auth/sign-out', payload: {} });
    expect(out.statusCode).toBe(200);
    expect((await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
  });

  it('a role change applies to the very next request', async () => {
    const tenant = await createTenant(t.app);
    const listAsNurse = () => as(t.app, tenant.users.nurse.token)({ method: 'GET', url: '/api/v1/users' });
    expect((await listAsNurse()).statusCode).toBe(403);
    const promote = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.nurse.id}/role`,
      payload: { role: 'manager' },
    });
    expect(promote.statusCode).toBe(200);
    expect((await listAsNurse()).statusCode).toBe(200);
  });
});

describe('user changes made through Better Auth', () => {
  // Better Auth finds a user's cached sessions through one list entry per user, which the memory
  // layer may evict under load; these tests evict it first, and the change must still apply.
  const evictSessionList = (userId: string) =>
    t.app.cache.namespace('auth').delete({ key: `active-sessions-${userId}` });

  it('a demoted platform admin loses platform rights on the next request', async () => {
    const root = await createPlatformAdmin(t.app);
    const other = await createPlatformAdmin(t.app);
    const profile = () => as(t.app, other.token)({ method: 'GET', url: '/api/v1/profile' });
    expect((await profile()).json().user.platformAdmin).toBe(true);
    await evictSessionList(other.id);
    const demote = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: '/api/auth/admin/set-role',
      payload: { userId: other.id, role: 'user' },
    });
    expect(demote.statusCode).toBe(200);
    expect((await profile()).json().user.platformAdmin).toBe(false);
    const create = await as(
      t.app,
      other.token,
    )({
      method: 'POST',
      url: '/api/v1/organizations',
      payload: { name: 'Not allowed', slug: 'not-allowed' },
    });
    expect(create.statusCode).toBe(403);
  });

  it("a banned user's sessions end at once", async () => {
    const root = await createPlatformAdmin(t.app);
    const tenant = await createTenant(t.app);
    const profile = () => as(t.app, tenant.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' });
    expect((await profile()).statusCode).toBe(200);
    await evictSessionList(tenant.users.nurse.id);
    const ban = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: '/api/auth/admin/ban-user',
      payload: { userId: tenant.users.nurse.id },
    });
    expect(ban.statusCode).toBe(200);
    expect((await profile()).statusCode).toBe(401);
  });
});

// Two app instances on one database and one Redis, as behind a load balancer: a change on one is
// seen by the other on its next request, through the invalidation bus.
describe.skipIf(!process.env.REDIS_URL)('across instances sharing Redis', () => {
  let other: FastifyInstance;
  let otherRedis: ReturnType<typeof connectRedis>;

  beforeAll(async () => {
    otherRedis = connectRedis(t.config.REDIS_URL!);
    other = await buildApp(t.config, { database: t.database, redis: otherRedis, authSecret: t.config.AUTH_SECRET! });
    await other.ready();
  });
  afterAll(async () => {
    await other.close();
    await otherRedis.quit();
  });

  it('a session revoked on one instance stops working on the other at once', async () => {
    const token = await signIn(t.app, a.users.nurse.email);
    // Both instances now hold the session in memory.
    expect((await as(other, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    expect((await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    const id = await sessionIdOf(t.app, token);
    const revoke = await as(t.app, a.users.nurse.token)({ method: 'DELETE', url: `/api/v1/profile/sessions/${id}` });
    expect(revoke.statusCode).toBe(204);
    await expect
      .poll(async () => (await as(other, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode)
      .toBe(401);
    expect((await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
  });

  it('a member removed on one instance loses access on the other', async () => {
    const tenant = await createTenant(t.app);
    const profile = () => as(other, tenant.users.operator.token)({ method: 'GET', url: '/api/v1/profile' });
    expect((await profile()).statusCode).toBe(200);
    const removed = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'DELETE',
      url: `/api/v1/users/${tenant.users.operator.id}`,
    });
    expect(removed.statusCode).toBe(204);
    await expect.poll(async () => (await profile()).statusCode).toBe(401);
  });

  it('a role changed on one instance applies on the other', async () => {
    const tenant = await createTenant(t.app);
    const list = () => as(other, tenant.users.doctor.token)({ method: 'GET', url: '/api/v1/users' });
    expect((await list()).statusCode).toBe(403);
    await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.doctor.id}/role`,
      payload: { role: 'manager' },
    });
    await expect.poll(async () => (await list()).statusCode).toBe(200);
  });
});

describe('with Redis unreachable', () => {
  it('still signs in, answers from the database and signs out, retrying the invalidation on Redis', async () => {
    // Nothing listens there, so start-up need not wait for it to answer.
    const dead = await buildTestApp({ REDIS_URL: UNREACHABLE_REDIS, REDIS_CONNECT_WAIT_MS: '0' });
    const app = dead.app;
    try {
      const tenant = await createTenant(app);
      const res = await as(app, tenant.users.doctor.token)({ method: 'GET', url: '/api/v1/profile' });
      expect(res.statusCode).toBe(200);
      const out = await as(app, tenant.users.doctor.token)({ method: 'POST', url: '/api/auth/sign-out', payload: {} });
      expect(out.statusCode).toBe(200);
      const after = await as(app, tenant.users.doctor.token)({ method: 'GET', url: '/api/v1/profile' });
      expect(after.statusCode).toBe(401);
      // The deletion waits for Redis, so a copy there cannot outlive the outage.
      expect(app.cache.pendingCount).toBeGreaterThan(0);
    } finally {
      await dead.close();
    }
  });
});
