import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { eq } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patients } from '../src/modules/patients/patients.schema.js';
import { insertPatient } from './helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';
import { freePort } from './helpers/server-process.js';

// Redis goes down under a running app and comes back: the app keeps answering (memory and the
// database), never with a 5xx, never stale, and uses Redis again once it is back. The test runs its
// own redis-server on a free port, so it can kill it.

const hasRedisServer = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        if (probe.status !== 'ready') await probe.connect();
        if ((await probe.ping()) === 'PONG') return child;
      } catch {
        probe.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error('redis-server did not start');
  } finally {
    probe.disconnect();
  }
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.skipIf(!hasRedisServer)('a Redis outage', () => {
  let port: number;
  let redisServer: ChildProcess;
  let t: TestApp;
  let a: Tenant;

  beforeAll(async () => {
    port = await freePort();
    redisServer = await startRedis(port);
    t = await buildTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    a = await createTenant(t.app);
  });
  afterAll(async () => {
    await t?.close();
    if (redisServer) await stopRedis(redisServer);
  });

  const read = (id: string) => as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/patients/${id}` });
  const rename = (id: string, givenName: string) =>
    as(t.app, a.users.doctor.token)({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { givenName } });
  const readHospital = (id: string) =>
    as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/hospitals/${id}` });
  const renameHospital = (id: string, name: string) =>
    as(t.app, a.users.admin.token)({ method: 'PATCH', url: `/api/v1/hospitals/${id}`, payload: { name } });
  const copiesInRedis = async (id: string) => (await t.redis!.keys(`${t.config.REDIS_KEY_PREFIX}cache*${id}*`)).length;

  it('answers from memory and the database while Redis is down, and uses Redis again once it is back', async () => {
    const warm = await insertPatient(t.app, a);
    const cold = await insertPatient(t.app, a);
    const created = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: 'Before the outage' },
    });
    const hospital = created.json<{ id: string }>().id;
    for (let i = 0; i < 2; i++) {
      expect((await read(warm)).statusCode).toBe(200);
      expect((await readHospital(hospital)).statusCode).toBe(200);
    }
    expect(await copiesInRedis(hospital)).toBe(1); // the hospital is in Redis too
    expect(await copiesInRedis(warm)).toBe(0); // a patient record never is: memory only

    await stopRedis(redisServer);
    await expect.poll(() => t.redis!.status).not.toBe('ready');

    // Cached and uncached records, the caller's session and memberships: all answered, no 5xx.
    for (let i = 0; i < 5; i++) {
      expect((await read(warm)).statusCode).toBe(200);
      expect((await read(cold)).statusCode).toBe(200);
      expect((await readHospital(hospital)).statusCode).toBe(200);
      expect((await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    }
    // Writes during the outage. The hospital's invalidation waits for Redis (its copy there must go),
    // and reads meanwhile are fresh; the patient's memory copy is dropped at once.
    expect((await renameHospital(hospital, 'During the outage')).statusCode).toBe(200);
    expect(t.app.cache.pendingCount).toBeGreaterThan(0);
    expect((await readHospital(hospital)).json().name).toBe('During the outage');
    expect((await rename(warm, 'Outage')).statusCode).toBe(200);
    expect((await read(warm)).json().givenName).toBe('Outage');

    redisServer = await startRedis(port);
    // The deletions that waited go through as soon as the client reconnects (Redis came back empty
    // here, but a Redis that only was unreachable still holds the old copy).
    await expect.poll(() => t.app.cache.pendingCount, { timeout: 15_000 }).toBe(0);
    expect((await readHospital(hospital)).json().name).toBe('During the outage');
    expect((await renameHospital(hospital, 'After the outage')).statusCode).toBe(200);
    expect((await readHospital(hospital)).json().name).toBe('After the outage');
    expect((await rename(warm, 'Recovered')).statusCode).toBe(200);
    expect((await read(warm)).json().givenName).toBe('Recovered');
    expect((await read(cold)).statusCode).toBe(200);
    // Filled again into Redis.
    await expect.poll(() => copiesInRedis(hospital), { timeout: 10_000 }).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasRedisServer)('an instance that starts while Redis is down', () => {
  it("drops what it cached without the bus once Redis is up: other instances' deletes never reached it", async () => {
    const port = await freePort();
    const t = await buildTestApp({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CONNECT_WAIT_MS: '100' });
    let redisServer: ChildProcess | undefined;
    try {
      const a = await createTenant(t.app);
      const id = await insertPatient(t.app, a);
      const read = async () =>
        (await as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/patients/${id}` })).json().givenName;
      const before = await read();
      expect(await read()).toBe(before); // in this instance's memory now
      // Another instance renames the patient; its delete goes over a bus this one is not on yet.
      await t.database.db.update(patients).set({ givenName: 'Elsewhere' }).where(eq(patients.id, id));
      expect(await read()).toBe(before);

      redisServer = await startRedis(port);
      await expect.poll(read, { timeout: 15_000 }).toBe('Elsewhere');
    } finally {
      await t.close();
      if (redisServer) await stopRedis(redisServer);
    }
  });
});
