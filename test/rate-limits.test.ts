import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { as, buildTestApp, createTenant, deleteKeys, type Tenant, type TestApp } from './helpers/test-app.js';

// The rate-limit table (src/platform/http/rate-limit-table.ts) applied per address, per caller and per
// operation. Each case sets low limits of its own; the defaults are far above anything here.

function expectRefused(res: LightMyRequestResponse, message: RegExp) {
  expect(res.statusCode).toBe(429);
  expect(res.json()).toMatchObject({ error: { code: 'RATE_LIMITED', requestId: expect.any(String) } });
  expect(res.json().error.message).toMatch(message);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(res.headers['ratelimit-remaining']).toBe('0');
}

describe('the defaults', () => {
  let t: TestApp;
  let a: Tenant;
  beforeAll(async () => {
    t = await buildTestApp();
    a = await createTenant(t.app);
  });
  afterAll(() => t.close());

  it('put RateLimit-Limit, -Remaining and -Reset on every answer but the health probes', async () => {
    const res = await as(t.app, a.users.doctor.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['ratelimit-limit'])).toBe(1_500_000);
    expect(Number(res.headers['ratelimit-remaining'])).toBeGreaterThan(1_000_000);
    expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(res.headers['retry-after']).toBeUndefined();
    const unknown = await t.app.inject({ method: 'GET', url: '/no-such-route' });
    expect(unknown.headers['ratelimit-limit']).toBeDefined();
    for (const url of ['/health', '/health/ready']) {
      expect((await t.app.inject({ method: 'GET', url })).headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('are one table that RATE_LIMITS and SIGNIN_IP_LIMIT_PER_MINUTE change, row by row', () => {
    const config = loadConfig({ RATE_LIMITS: 'ip=20000/1m, exports=off', SIGNIN_IP_LIMIT_PER_MINUTE: '7' });
    expect(config.rateLimits.ip).toEqual({ max: 20_000, windowMs: 60_000 });
    expect(config.rateLimits.exports).toBeNull();
    expect(config.rateLimits['sign-in']).toEqual({ max: 7, windowMs: 60_000 });
    expect(config.rateLimits.invitations).toEqual({ max: 200, windowMs: 3_600_000 });
    expect(() => loadConfig({ RATE_LIMITS: 'ip=10/1m,everything=1/1s,user=5' })).toThrow(
      /unknown row "everything"[\s\S]*"user=5"/,
    );
    expect(() => loadConfig({ RATE_LIMITS: 'sign-in=5/1m', SIGNIN_IP_LIMIT_PER_MINUTE: '9' })).toThrow(
      /set it in one place/,
    );
    expect(() => loadConfig({ RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,10.0.0.0/40' })).toThrow(/10.0.0.0\/40/);
  });
});

describe('per address', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMITS: 'ip=3/1m', RATE_LIMIT_EXEMPT_IPS: '10.1.0.0/16' });
  });
  afterAll(() => t.close());

  it('counts every request before authentication, bad credentials too, then answers 429', async () => {
    const call = () => as(t.app, 'not-a-token')({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.2.0.1' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call()).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    const refused = await call();
    expectRefused(refused, /too many requests from this address; retry in \d+ seconds/);
    expect(Number(refused.headers['ratelimit-limit'])).toBe(3);
    // The probes are never counted; another address has its own counter.
    expect((await t.app.inject({ method: 'GET', url: '/health', remoteAddress: '10.2.0.1' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.3.0.1' })).statusCode).toBe(
      401,
    );
  });

  it('exempts the addresses in RATE_LIMIT_EXEMPT_IPS from the ceiling', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.1.7.7' });
      expect(res.statusCode).toBe(401);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('per caller and per operation', () => {
  let t: TestApp;
  let a: Tenant;
  beforeAll(async () => {
    t = await buildTestApp({ RATE_LIMITS: 'user=6/1m,invitations=2/1h,exports=1/1h,writes=3/1m' });
    a = await createTenant(t.app);
  });
  afterAll(() => t.close());

  it('limits each user on /api/v1, whatever the address, and not the others', async () => {
    const doctor = as(t.app, a.users.doctor.token);
    for (let i = 0; i < 6; i++) {
      const res = await doctor({ method: 'GET', url: '/api/v1/profile', remoteAddress: `10.9.0.${i}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers['ratelimit-remaining']).toBe(String(5 - i));
    }
    expectRefused(await doctor({ method: 'GET', url: '/api/v1/profile' }), /too many requests from this account/);
    expect((await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
  });

  it('limits invitations, exports and writes per user, each with its own counter', async () => {
    const admin = as(t.app, a.users.admin.token);
    const invite = (n: number) =>
      admin({ method: 'POST', url: '/api/v1/invitations', payload: { email: `rl-${n}@example.test`, role: 'nurse' } });
    const first = await invite(1);
    expect(first.statusCode).toBe(201);
    expect((await invite(2)).statusCode).toBe(201);
    expectRefused(await invite(3), /too many invitations; retry in \d+ minutes/);

    const manager = as(t.app, a.users.manager.token);
    const exportCsv = () => manager({ method: 'GET', url: '/api/v1/audit-events/export.csv' });
    expect((await exportCsv()).statusCode).toBe(200);
    expectRefused(await exportCsv(), /too many exports/);

    // The admin's three invitations were three writes: a fourth write of any kind is refused.
    const cancel = await admin({ method: 'DELETE', url: `/api/v1/invitations/${first.json().id}` });
    expectRefused(cancel, /too many changes/);
    expect((await admin({ method: 'GET', url: '/api/v1/invitations' })).statusCode).toBe(200);
  });
});

describe.skipIf(!process.env.REDIS_URL)('with Redis', () => {
  const prefix = `wardline-test:rl-${randomBytes(4).toString('hex')}:`;
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMITS: 'ip=4/1m' };
    [one, two] = await Promise.all([buildTestApp(env), buildTestApp(env)]);
  });
  afterAll(async () => {
    if (one?.redis) await deleteKeys(one.redis, prefix);
    await Promise.all([one?.close(), two?.close()]);
  });

  it('shares one counter between two instances: each learns the total when it adds its own counts', async () => {
    const call = (t: TestApp) => t.app.inject({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.4.0.1' });
    for (let i = 0; i < 3; i++) expect((await call(one)).statusCode).toBe(401);
    // What each instance's sync timer does every VOLUME_SYNC_MS (100 ms).
    await one.app.syncRateLimits();
    expect((await call(two)).statusCode).toBe(401);
    await two.app.syncRateLimits();
    expect(await one.redis!.get(`${prefix}rate-limit:ip:10.4.0.1`)).toBe('4');
    // The second instance now knows of the first one's three: its next request is past the ceiling.
    expectRefused(await call(two), /too many requests from this address/);
  });

  it('counts exactly on one instance between syncs, and adds them to Redis in one go', async () => {
    const call = () => one.app.inject({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.4.0.2' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call()).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    await one.app.syncRateLimits();
    const key = `${prefix}rate-limit:ip:10.4.0.2`;
    expect(await one.redis!.get(key)).toBe('5');
    // The window is the library's: it started with the first request, and Redis expires the counter.
    expect(await one.redis!.pttl(key)).toBeGreaterThan(50_000);
    // The other instance learns of them at its next sync: its first request there is refused.
    const other = () => two.app.inject({ method: 'GET', url: '/api/v1/profile', remoteAddress: '10.4.0.2' });
    expect((await other()).statusCode).toBe(401);
    await two.app.syncRateLimits();
    expect((await other()).statusCode).toBe(429);
  });
});
