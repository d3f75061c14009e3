import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { AppError } from '../src/platform/http/errors.js';
import { connectRedis } from '../src/platform/redis.js';
import { insertPatient } from './helpers/encounters-fixtures.js';
import { AUDIT_INSERT, countQueries, ownQueries } from './helpers/query-counter.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp, type TestUser } from './helpers/test-app.js';

// The hot reads cached through the unit of work (hospitals, units and rooms; the on-duty roster; the
// medication, lab test and insurer catalogs) answer a read right after a write with the write, on
// the instance that wrote and on another sharing Redis; warm, they make no database query of their
// own; and their hits and misses are counted per namespace. The dashboard is cached without
// invalidation, for ten seconds.

let t: TestApp;

beforeAll(async () => {
  // Each scenario signs in a tenant of its own (five sign-ins): more than the per-IP limit allows.
  t = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '1000' });
});
afterAll(() => t.close());

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
// Answers are JSON of several shapes; each check reads the fields it names.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

const send = (app: FastifyInstance, user: TestUser, method: Method, url: string, payload?: object) =>
  as(app, user.token)({ method, url, ...(payload ? { payload } : {}) });

/** A request made on `app`, which must succeed; its answer (undefined for a 204). */
async function call(app: FastifyInstance, user: TestUser, method: Method, url: string, payload?: object) {
  const res = await send(app, user, method, url, payload);
  expect([200, 201, 204], `${method} ${url}: ${res.statusCode} ${res.body}`).toContain(res.statusCode);
  return res.statusCode === 204 ? undefined : res.json<Body>();
}

/**
 * Reads `url` twice on every instance (the second read comes from that instance's cache, if the
 * first filled it) and checks every answer.
 */
async function everywhere(apps: FastifyInstance[], user: TestUser, url: string, check: (body: Body) => void) {
  for (const app of apps) {
    for (let i = 0; i < 2; i++) {
      const res = await send(app, user, 'GET', url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      check(res.json());
    }
  }
}

async function goneEverywhere(apps: FastifyInstance[], user: TestUser, url: string) {
  for (const app of apps) expect((await send(app, user, 'GET', url)).statusCode).toBe(404);
}

const names = (page: Body) => page.data.map((item: { name: string }) => item.name);

/** Hospitals, units and rooms: every kind of change, then a read of the record and its list everywhere. */
async function hospitalsScenario(apps: FastifyInstance[], tenant: Tenant) {
  const { admin, nurse } = tenant.users;
  const on = (n: number) => apps[n % apps.length]!;
  const north = await call(on(0), admin, 'POST', '/api/v1/hospitals', { name: 'North' });
  await everywhere(apps, nurse, `/api/v1/hospitals/${north.id}`, (h) => expect(h.name).toBe('North'));
  await everywhere(apps, nurse, '/api/v1/hospitals', (page) => expect(names(page)).toEqual(['North']));

  await call(on(1), admin, 'PATCH', `/api/v1/hospitals/${north.id}`, { name: 'North Wing', isDefault: true });
  await everywhere(apps, nurse, `/api/v1/hospitals/${north.id}`, (h) =>
    expect(h).toMatchObject({ name: 'North Wing', isDefault: true }),
  );
  // A new default clears the old one: both records, and the list, change.
  const south = await call(on(0), admin, 'POST', '/api/v1/hospitals', { name: 'South', isDefault: true });
  await everywhere(apps, nurse, `/api/v1/hospitals/${north.id}`, (h) => expect(h.isDefault).toBe(false));
  await call(on(1), admin, 'PATCH', `/api/v1/hospitals/${north.id}`, { isDefault: true });
  await everywhere(apps, nurse, `/api/v1/hospitals/${south.id}`, (h) => expect(h.isDefault).toBe(false));
  await everywhere(apps, nurse, '/api/v1/hospitals', (page) =>
    expect(page.data.map((h: Body) => [h.name, h.isDefault])).toEqual([
      ['North Wing', true],
      ['South', false],
    ]),
  );
  await call(on(0), admin, 'PATCH', `/api/v1/hospitals/${south.id}`, { active: false });
  await everywhere(apps, nurse, `/api/v1/hospitals/${south.id}`, (h) => expect(h.active).toBe(false));
  await everywhere(apps, nurse, '/api/v1/hospitals?active=true', (page) => expect(names(page)).toEqual(['North Wing']));

  // Units of a hospital, rooms of a unit.
  const ward = await call(on(1), admin, 'POST', `/api/v1/hospitals/${north.id}/units`, { name: 'Ward A' });
  const units = `/api/v1/hospitals/${north.id}/units`;
  await everywhere(apps, nurse, units, (page) => expect(names(page)).toEqual(['Ward A']));
  await call(on(0), admin, 'PATCH', `/api/v1/units/${ward.id}`, { name: 'Ward 1' });
  await everywhere(apps, nurse, `/api/v1/units/${ward.id}`, (u) => expect(u.name).toBe('Ward 1'));
  await everywhere(apps, nurse, units, (page) => expect(names(page)).toEqual(['Ward 1']));
  const rooms = `/api/v1/units/${ward.id}/rooms`;
  await everywhere(apps, nurse, rooms, (page) => expect(page.data).toEqual([]));
  const room = await call(on(1), admin, 'POST', rooms, { name: 'Room 1' });
  await everywhere(apps, nurse, rooms, (page) => expect(names(page)).toEqual(['Room 1']));
  await call(on(0), admin, 'PATCH', `/api/v1/rooms/${room.id}`, { name: 'Room 1A', active: false });
  await everywhere(apps, nurse, `/api/v1/rooms/${room.id}`, (r) => expect(r).toMatchObject({ name: 'Room 1A' }));
  await everywhere(apps, nurse, `${rooms}?active=false`, (page) => expect(names(page)).toEqual(['Room 1A']));
  await call(on(1), admin, 'DELETE', `/api/v1/rooms/${room.id}`);
  await goneEverywhere(apps, nurse, `/api/v1/rooms/${room.id}`);
  await everywhere(apps, nurse, rooms, (page) => expect(page.data).toEqual([]));
  const spare = await call(on(0), admin, 'POST', units, { name: 'Ward B' });
  await everywhere(apps, nurse, units, (page) => expect(names(page)).toEqual(['Ward 1', 'Ward B']));
  await call(on(1), admin, 'DELETE', `/api/v1/units/${spare.id}`);
  await goneEverywhere(apps, nurse, `/api/v1/units/${spare.id}`);
  await call(on(0), admin, 'PATCH', `/api/v1/units/${ward.id}`, { active: false });
  await everywhere(apps, nurse, `${units}?active=true`, (page) => expect(page.data).toEqual([]));
  await everywhere(apps, nurse, `/api/v1/units/${ward.id}`, (u) => expect(u.active).toBe(false));

  const east = await call(on(1), admin, 'POST', '/api/v1/hospitals', { name: 'East' });
  await everywhere(apps, nurse, `/api/v1/hospitals/${east.id}`, (h) => expect(h.name).toBe('East'));
  await call(on(0), admin, 'DELETE', `/api/v1/hospitals/${east.id}`);
  await goneEverywhere(apps, nurse, `/api/v1/hospitals/${east.id}`);
  await everywhere(apps, nurse, '/api/v1/hospitals', (page) => expect(names(page)).toEqual(['North Wing', 'South']));
}

/** A hospital with one unit, made through the API; the unit's id. */
async function unitOf(app: FastifyInstance, tenant: Tenant): Promise<string> {
  const hospital = await call(app, tenant.users.admin, 'POST', '/api/v1/hospitals', { name: 'General' });
  return (await call(app, tenant.users.admin, 'POST', `/api/v1/hospitals/${hospital.id}/units`, { name: 'ICU' })).id;
}

/** The on-duty roster: shifts starting and ending, and a member removed while on duty. */
async function onDutyScenario(apps: FastifyInstance[], tenant: Tenant) {
  const { admin, nurse, doctor, manager } = tenant.users;
  const on = (n: number) => apps[n % apps.length]!;
  const unitId = await unitOf(on(0), tenant);
  const roster = `/api/v1/units/${unitId}/on-duty`;
  const who = (body: Body) => ({ nurse: body.onDuty.nurse.length, doctor: body.onDuty.doctor.length });
  await everywhere(apps, manager, roster, (body) => expect(body.gaps).toEqual(expect.arrayContaining(['nurse'])));

  await call(on(1), nurse, 'POST', '/api/v1/staff/me/shift/start', { unitId });
  await everywhere(apps, manager, roster, (body) => {
    expect(who(body)).toEqual({ nurse: 1, doctor: 0 });
    expect(body.onDuty.nurse[0].userId).toBe(nurse.id);
  });
  await call(on(0), manager, 'POST', `/api/v1/staff/${doctor.id}/shift/start`, { unitId });
  await everywhere(apps, manager, roster, (body) => expect(who(body)).toEqual({ nurse: 1, doctor: 1 }));
  await call(on(1), nurse, 'POST', '/api/v1/staff/me/shift/end');
  await everywhere(apps, manager, roster, (body) => expect(who(body)).toEqual({ nurse: 0, doctor: 1 }));
  // Removed from the organization, the doctor leaves the roster, whatever shift they left open.
  await call(on(0), admin, 'DELETE', `/api/v1/users/${doctor.id}`);
  await everywhere(apps, manager, roster, (body) => {
    expect(who(body)).toEqual({ nurse: 0, doctor: 0 });
    expect(body.gaps).toEqual(expect.arrayContaining(['nurse', 'doctor']));
  });
}

const CATALOGS = [
  {
    url: '/api/v1/medications',
    body: (n: number) => ({ name: `Medication ${n}`, form: 'tablet', strength: '5 mg', code: `MED-${n}` }),
  },
  { url: '/api/v1/lab-tests', body: (n: number) => ({ code: `TEST-${n}`, name: `Test ${n}`, unit: 'mmol/L' }) },
  { url: '/api/v1/insurers', body: (n: number) => ({ name: `Insurer ${n}` }) },
];

/** A catalog: by id, and its first page (of any size, with either active filter). */
async function catalogScenario(apps: FastifyInstance[], tenant: Tenant, catalog: (typeof CATALOGS)[number]) {
  const { admin, nurse } = tenant.users;
  const on = (n: number) => apps[n % apps.length]!;
  const first = await call(on(0), admin, 'POST', catalog.url, catalog.body(1));
  const one = `${catalog.url}/${first.id}`;
  await everywhere(apps, nurse, one, (item) => expect(item.name).toBe(first.name));
  await everywhere(apps, nurse, catalog.url, (page) => expect(names(page)).toEqual([first.name]));

  await call(on(1), admin, 'PATCH', one, { name: 'Renamed' });
  await everywhere(apps, nurse, one, (item) => expect(item.name).toBe('Renamed'));
  await everywhere(apps, nurse, catalog.url, (page) => expect(names(page)).toEqual(['Renamed']));
  const second = await call(on(0), admin, 'POST', catalog.url, catalog.body(2));
  await everywhere(apps, nurse, catalog.url, (page) => expect(names(page)).toEqual(['Renamed', second.name]));
  await everywhere(apps, nurse, `${catalog.url}?limit=1`, (page) => {
    expect(names(page)).toEqual(['Renamed']);
    expect(page.nextCursor).not.toBeNull();
  });
  await call(on(1), admin, 'PATCH', one, { active: false });
  await everywhere(apps, nurse, one, (item) => expect(item.active).toBe(false));
  await everywhere(apps, nurse, `${catalog.url}?active=true`, (page) => expect(names(page)).toEqual([second.name]));
  await everywhere(apps, nurse, `${catalog.url}?active=false`, (page) => expect(names(page)).toEqual(['Renamed']));
}

/** The scenarios, on the instances `apps` gives (one, or two sharing Redis); each in a tenant of its own. */
function readsAfterWrites(apps: () => FastifyInstance[]) {
  it('hospitals, units and rooms', async () => {
    await hospitalsScenario(apps(), await createTenant(t.app));
  });
  it('the on-duty roster of a unit', async () => {
    await onDutyScenario(apps(), await createTenant(t.app));
  });
  for (const catalog of CATALOGS) {
    it(`the catalog at ${catalog.url}`, async () => {
      await catalogScenario(apps(), await createTenant(t.app), catalog);
    });
  }
}

describe('a read right after a write sees it, on one instance', () => {
  readsAfterWrites(() => [t.app]);
});

// Two app instances on one database and one Redis, as behind a load balancer.
describe.skipIf(!process.env.REDIS_URL)('a read right after a write sees it, across instances sharing Redis', () => {
  let other: FastifyInstance;
  let otherRedis: ReturnType<typeof connectRedis>;

  beforeAll(async () => {
    otherRedis = connectRedis(t.config.REDIS_URL!);
    other = await buildApp(t.config, { database: t.database, redis: otherRedis, authSecret: t.config.AUTH_SECRET! });
    await other.ready(); // and its invalidation bus listens
  });
  afterAll(async () => {
    await other.close();
    await otherRedis.quit();
  });

  readsAfterWrites(() => [t.app, other]);
});

describe('warm reads', () => {
  let a: Tenant;
  let unitId: string;
  let hospitalId: string;
  let medicationId: string;

  beforeAll(async () => {
    a = await createTenant(t.app);
    unitId = await unitOf(t.app, a);
    hospitalId = (await call(t.app, a.users.admin, 'GET', `/api/v1/units/${unitId}`)).hospitalId;
    medicationId = (await call(t.app, a.users.admin, 'POST', '/api/v1/medications', CATALOGS[0]!.body(1))).id;
    await call(t.app, a.users.nurse, 'POST', '/api/v1/staff/me/shift/start', { unitId });
  });

  const warm = [
    { what: 'a hospital', url: () => `/api/v1/hospitals/${hospitalId}`, audited: false },
    { what: "a hospital's units", url: () => `/api/v1/hospitals/${hospitalId}/units`, audited: false },
    { what: "a unit's on-duty roster", url: () => `/api/v1/units/${unitId}/on-duty`, audited: true },
    { what: 'a medication', url: () => `/api/v1/medications/${medicationId}`, audited: false },
  ];
  for (const { what, url, audited } of warm) {
    it(`of ${what} make no database query of their own`, async () => {
      const read = () => send(t.app, a.users.doctor, 'GET', url());
      for (let i = 0; i < 3; i++) expect((await read()).statusCode).toBe(200);
      await t.app.auditLog.drain();
      const counter = countQueries(t.database);
      try {
        const answers = await Promise.all(Array.from({ length: 4 }, read));
        expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200]);
        await t.app.auditLog.drain();
        expect(ownQueries(counter.texts)).toEqual([]);
        // The cache skips the query, never the audit: the roster's reads are still recorded.
        const inserts = counter.texts.filter((text) => AUDIT_INSERT.test(text)).length;
        if (audited) expect(inserts).toBeGreaterThanOrEqual(1);
        else expect(inserts).toBe(0);
      } finally {
        counter.restore();
      }
    });
  }

  it('of the roster are audited every time', async () => {
    const audited = async () => {
      await t.app.auditLog.drain();
      const url = `/api/v1/audit-events?action=shifts.on-duty&resourceId=${unitId}&limit=100`;
      return (await call(t.app, a.users.admin, 'GET', url)).data.length as number;
    };
    const before = await audited();
    for (let i = 0; i < 3; i++) await call(t.app, a.users.nurse, 'GET', `/api/v1/units/${unitId}/on-duty`);
    expect(await audited()).toBe(before + 3);
  });

  it('are counted per namespace in app.cache.stats()', async () => {
    const tenant = await createTenant(t.app);
    const ownUnit = await unitOf(t.app, tenant);
    const reads = [
      { namespace: 'hospitals', url: '/api/v1/hospitals' },
      { namespace: 'staff', url: `/api/v1/units/${ownUnit}/on-duty` },
      { namespace: 'medications', url: '/api/v1/medications' },
      { namespace: 'lab-tests', url: '/api/v1/lab-tests' },
      { namespace: 'insurers', url: '/api/v1/insurers' },
      { namespace: 'dashboard', url: '/api/v1/dashboard/stats' },
    ];
    for (const { namespace, url } of reads) {
      const before = t.app.cache.stats()[namespace] ?? { hits: 0, misses: 0 };
      for (let i = 0; i < 3; i++) await call(t.app, tenant.users.manager, 'GET', url);
      const after = t.app.cache.stats()[namespace]!;
      const counted = { namespace, misses: after.misses - before.misses, hits: after.hits - before.hits };
      expect(counted).toEqual({ namespace, misses: 1, hits: 2 });
    }
  });
});

describe('the dashboard', () => {
  it('answers from the cache for ten seconds, without invalidation', async () => {
    const a = await createTenant(t.app);
    const stats = async () => {
      const res = await send(t.app, a.users.manager, 'GET', '/api/v1/dashboard/stats');
      expect(res.statusCode).toBe(200);
      return res.json<Body>();
    };
    const first = await stats();
    await insertPatient(t.app, a);
    // Documented: up to ten seconds old. The same answer, counted at the same time.
    expect(await stats()).toEqual(first);
    await t.app.cache.tenant('dashboard', a.organizationId).clear();
    expect((await stats()).patients.active).toBe(first.patients.active + 1);
  });
});

describe('a cached read whose loading fails', () => {
  it('throws the error the loader threw, and caches nothing', async () => {
    const entries = t.app.cache.tenant('failing-test', 'org');
    const refusal = new AppError('NOT_FOUND', 'no such thing');
    await expect(entries.getOrSet({ key: 'k', ttl: 60_000, factory: () => Promise.reject(refusal) })).rejects.toBe(
      refusal,
    );
    expect(await entries.getOrSet({ key: 'k', ttl: 60_000, factory: async () => 'loaded' })).toBe('loaded');
    expect(t.app.cache.stats()['failing-test']).toMatchObject({ misses: 2, hits: 0 });
  });
});
