import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { insertPatient } from './helpers/encounters-fixtures.js';
import { as, buildTestApp, createPlatformAdmin, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

// Cached records never outlive a change made through Wardline: a read right after a write sees it,
// on the instance that wrote or on another one sharing Redis, and revoked credentials stop at once.

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const readPatient = (app: FastifyInstance, tenant: Tenant, id: string) =>
  as(app, tenant.users.doctor.token)({ method: 'GET', url: `/api/v1/patients/${id}` });
const renamePatient = (app: FastifyInstance, tenant: Tenant, id: string, givenName: string) =>
  as(app, tenant.users.doctor.token)({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { givenName } });

describe('the patient cache on one instance', () => {
  it('serves a read right after a change with the change', async () => {
    const id = await insertPatient(t.app, a);
    expect((await readPatient(t.app, a, id)).statusCode).toBe(200);
    expect((await readPatient(t.app, a, id)).statusCode).toBe(200); // cached now
    for (const name of ['Ada', 'Grace', 'Hedy']) {
      expect((await renamePatient(t.app, a, id, name)).statusCode).toBe(200);
      expect((await readPatient(t.app, a, id)).json().givenName).toBe(name);
    }
    const archived = await as(t.app, a.users.manager.token)({ method: 'POST', url: `/api/v1/patients/${id}/archive` });
    expect(archived.statusCode).toBe(200);
    expect((await readPatient(t.app, a, id)).json().status).toBe('archived');
  });

  it("keeps each organization's entries apart: another tenant's id is 404, cached or not", async () => {
    const b = await createTenant(t.app);
    const id = await insertPatient(t.app, a);
    expect((await readPatient(t.app, a, id)).statusCode).toBe(200);
    expect((await readPatient(t.app, b, id)).statusCode).toBe(404);
  });

  it('does not cache a value loaded while the key was invalidated (a read racing a write)', async () => {
    const entries = t.app.cache.tenant('race-test', a.organizationId);
    let release!: () => void;
    let started!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = new Promise<void>((resolve) => (started = resolve));
    // A miss that read the database before a change committed, and finishes after its invalidation.
    const slow = entries.getOrSet({
      key: 'k',
      ttl: 60_000,
      factory: async () => {
        started();
        await gate;
        return 'old';
      },
    });
    await loading;
    await entries.invalidate(['k']);
    release();
    expect(await slow).toBe('old'); // its caller gets what it read...
    // ...but the next reader does not: the stale value was never cached.
    expect(await entries.getOrSet({ key: 'k', ttl: 60_000, factory: async () => 'new' })).toBe('new');
    expect(t.app.cache.stats()['race-test']?.discarded).toBe(1);
  });

  it('does not cache what a write reads inside its transaction (it may roll back)', async () => {
    const id = await insertPatient(t.app, a);
    const ctx = {
      requestId: 'rollback-test',
      user: { id: a.users.doctor.id, email: '', name: '', platformAdmin: false },
      authMethod: 'bearer' as const,
      sessionId: 'test',
      apiKeyId: null,
      client: { ip: null, userAgent: null },
      memberships: [{ organizationId: a.organizationId, role: 'doctor' as const }],
      organizationId: a.organizationId,
      role: 'doctor' as const,
    };
    const misses = () => t.app.cache.stats().patients?.misses ?? 0;
    const before = misses();
    await expect(
      t.app.uow.write(ctx, async (work) => {
        expect(await t.app.patients.exists(ctx, id)).toBe(true);
        work.audit({ action: 'test.rollback', resourceType: 'patient' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(misses()).toBe(before);
  });
});

describe('cached API keys', () => {
  it('stop working at once when deleted, and when the owner is banned', async () => {
    const tenant = await createTenant(t.app);
    const make = async () => {
      const created = await as(
        t.app,
        tenant.users.nurse.token,
      )({
        method: 'POST',
        url: '/api/auth/api-key/create',
        payload: { name: 'ward display' },
      });
      return created.json<{ key: string; id: string }>();
    };
    const profile = (k: string) => t.app.inject({ method: 'GET', url: '/api/v1/profile', headers: { 'x-api-key': k } });
    const first = await make();
    const second = await make();
    for (let i = 0; i < 3; i++) {
      expect((await profile(first.key)).statusCode).toBe(200);
      expect((await profile(second.key)).statusCode).toBe(200);
    }
    const deleted = await as(
      t.app,
      tenant.users.nurse.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/delete',
      payload: { keyId: first.id },
    });
    expect(deleted.statusCode).toBe(200);
    expect((await profile(first.key)).statusCode).toBe(401);
    expect((await profile(second.key)).statusCode).toBe(200);

    const root = await createPlatformAdmin(t.app);
    const ban = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: '/api/auth/admin/ban-user',
      payload: { userId: tenant.users.nurse.id },
    });
    expect(ban.statusCode).toBe(200);
    expect((await profile(second.key)).statusCode).toBe(401);
  });
});

// Two app instances on one database and one Redis, as behind a load balancer.
describe.skipIf(!process.env.REDIS_URL)('across instances sharing Redis', () => {
  let other: FastifyInstance;
  let otherRedis: Redis;
  // The other instance's connections carry this name (its bus subscriber too), so a test can cut one.
  const otherName = `wardline-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    otherRedis = new Redis(t.config.REDIS_URL!, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: otherName,
    });
    otherRedis.on('error', () => {});
    other = await buildApp(t.config, { database: t.database, redis: otherRedis, authSecret: t.config.AUTH_SECRET! });
    await other.ready();
    // Ready means listening: both instances are subscribed, on the channel of each store (shared:
    // memory and Redis; local: memory only), without waiting. (The channels carry the deployment's key
    // prefix, this test file's own: no other test's instances hear them.)
    const counts = (await t.redis!.pubsub(
      'NUMSUB',
      `${t.config.REDIS_KEY_PREFIX}bentocache.notifications:shared`,
      `${t.config.REDIS_KEY_PREFIX}bentocache.notifications:local`,
    )) as (string | number)[];
    expect([Number(counts[1]), Number(counts[3])]).toEqual([2, 2]);
  });
  afterAll(async () => {
    await other.close();
    await otherRedis.quit();
  });

  it('an instance whose bus connection dropped drops its memory copies once it is back', async () => {
    const id = await insertPatient(t.app, a);
    const created = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: 'Heard' },
    });
    const hospital = created.json<{ id: string }>().id;
    const readHospital = async (app: FastifyInstance) =>
      (await as(app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/hospitals/${hospital}` })).json().name;
    for (const app of [t.app, other, t.app, other]) {
      expect((await readPatient(app, a, id)).statusCode).toBe(200);
      expect(await readHospital(app)).toBe('Heard');
    }
    // Each instance holds the patient in its memory, and Redis never does (patient data stays out of
    // it); the hospital is in the other memory layer, and in Redis.
    expect(await t.redis!.keys(`${t.config.REDIS_KEY_PREFIX}*${id}*`)).toEqual([]);
    const hospitalCopies = await t.redis!.keys(`${t.config.REDIS_KEY_PREFIX}*${hospital}*`);
    expect(hospitalCopies.length).toBeGreaterThan(0);
    // Changes whose deletes the other instance never heard (as while its subscriber was away); the
    // hospital's copy in Redis goes, unannounced.
    await t.database.db.execute(sql`update patients set given_name = 'Unheard' where id = ${id}`);
    await t.database.db.execute(sql`update hospitals set name = 'Unheard' where id = ${hospital}`);
    await t.redis!.del(...hospitalCopies);
    expect((await readPatient(other, a, id)).json().givenName).not.toBe('Unheard'); // its memory copies
    expect(await readHospital(other)).toBe('Heard');
    // Its subscriber is cut off; ioredis reconnects it, and then nothing it holds is trusted.
    const subscribers = ((await t.redis!.client('LIST')) as string)
      .split('\n')
      .filter((line) => line.includes(`name=${otherName}`) && /\bsub=[1-9]/.test(line))
      .map((line) => /\bid=(\d+)/.exec(line)![1]!);
    expect(subscribers.length).toBeGreaterThan(0);
    for (const clientId of subscribers) await t.redis!.client('KILL', 'ID', clientId);
    await vi.waitFor(async () => expect((await readPatient(other, a, id)).json().givenName).toBe('Unheard'), {
      timeout: 15_000,
      interval: 50,
    });
    expect(await readHospital(other)).toBe('Unheard');
  });

  it('a change written on one instance is read on the other immediately', async () => {
    const id = await insertPatient(t.app, a);
    // Both instances hold the record in memory.
    for (const app of [t.app, other, t.app, other]) expect((await readPatient(app, a, id)).statusCode).toBe(200);
    for (const name of ['Ada', 'Grace', 'Hedy', 'Radia']) {
      expect((await renamePatient(t.app, a, id, name)).statusCode).toBe(200);
      // No polling: the write returned only once the other instance had dropped its copy.
      expect((await readPatient(other, a, id)).json().givenName).toBe(name);
      expect((await readPatient(t.app, a, id)).json().givenName).toBe(name);
    }
    // And the other way round.
    expect((await renamePatient(other, a, id, 'Katherine')).statusCode).toBe(200);
    expect((await readPatient(t.app, a, id)).json().givenName).toBe('Katherine');
  });

  it('an API key deleted on one instance stops on the other at once', async () => {
    const created = await as(
      t.app,
      a.users.doctor.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'two instances' },
    });
    const { key, id } = created.json<{ key: string; id: string }>();
    const profile = (app: FastifyInstance) =>
      app.inject({ method: 'GET', url: '/api/v1/profile', headers: { 'x-api-key': key } });
    for (let i = 0; i < 3; i++) expect((await profile(other)).statusCode).toBe(200);
    const deleted = await as(
      t.app,
      a.users.doctor.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/delete',
      payload: { keyId: id },
    });
    expect(deleted.statusCode).toBe(200);
    expect((await profile(other)).statusCode).toBe(401);
  });
});
