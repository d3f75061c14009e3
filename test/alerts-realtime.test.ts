import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWardlineClient } from '../packages/client/src/client.js';
import type { AlertEvent, SubscriptionState } from '../packages/client/src/realtime.js';
import { buildApp } from '../src/app.js';
import { connectRedis, type Redis } from '../src/platform/redis.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

// Real alerts, real sockets: the client's `alerts.subscribe` against the alerts module, through
// drops and reconnects, across tenants, and (with Redis) across two instances.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Event = AlertEvent<{ id: string; roomId: string; status: string }>;

let t: TestApp;
let url: string;
let a: Tenant;
let b: Tenant;
const places = new Map<Tenant, { hospitalId: string; unitId: string; rooms: string[] }>();
const fast = { transports: ['websocket'], reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 };
const closers: (() => void)[] = [];

const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

async function place(app: FastifyInstance, tenant: Tenant) {
  const admin = as(app, tenant.users.admin.token);
  const hospital = (await admin({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'West' } })).json<Json>();
  const unit = (
    await admin({ method: 'POST', url: `/api/v1/hospitals/${hospital.id}/units`, payload: { name: '2A' } })
  ).json<Json>();
  const rooms: string[] = [];
  for (const name of ['1', '2', '3', '4', '5']) {
    rooms.push(
      (await admin({ method: 'POST', url: `/api/v1/units/${unit.id}/rooms`, payload: { name } })).json<Json>().id,
    );
  }
  places.set(tenant, { hospitalId: hospital.id, unitId: unit.id, rooms });
}

async function raise(tenant: Tenant, room: number, type = 'assistance') {
  const where = places.get(tenant)!;
  const res = await as(
    t.app,
    tenant.users.operator.token,
  )({
    method: 'POST',
    url: '/api/v1/alerts',
    payload: { hospitalId: where.hospitalId, unitId: where.unitId, roomId: where.rooms[room], type, urgency: 3 },
  });
  expect(res.statusCode).toBe(201);
  return res.json<Json>().id as string;
}

/** A subscription of `tenant`'s nurse to `base`, collecting events and states. */
function subscribe(base: string, tenant: Tenant) {
  const events: Event[] = [];
  const states: SubscriptionState[] = [];
  const errors: Error[] = [];
  const client = createWardlineClient({ baseUrl: base, token: tenant.users.nurse.token });
  const stop = client.alerts.subscribe((event) => events.push(event), {
    socket: fast,
    onStateChange: (state) => states.push(state),
    onError: (error) => errors.push(error),
  });
  closers.push(stop);
  return { events, states, errors, stop };
}

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  await Promise.all([place(t.app, a), place(t.app, b)]);
}, 120_000);
afterAll(async () => {
  for (const close of closers) close();
  await t?.close();
});

describe('alerts in real time', () => {
  it('a client disconnected while two alerts are raised gets both after reconnecting, each once, in order', async () => {
    const nurse = subscribe(url, a);
    await until(() => nurse.states.at(-1) === 'live');
    const first = await raise(a, 0);
    await until(() => nurse.events.some((e) => e.alert.id === first));
    expect(nurse.events.find((e) => e.alert.id === first)).toMatchObject({ type: 'alert:new' });

    // The server drops the connection; two alerts are raised before the client is back.
    for (const socket of t.app.realtime.server.of('/').sockets.values()) socket.conn.close();
    await until(() => nurse.states.at(-1) === 'connecting');
    const [second, third] = [await raise(a, 1), await raise(a, 2)];
    await until(() => nurse.states.at(-1) === 'live' && nurse.events.some((e) => e.alert.id === third));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ids = nurse.events.map((e) => e.alert.id);
    expect(ids.filter((id) => id === second)).toHaveLength(1);
    expect(ids.filter((id) => id === third)).toHaveLength(1);
    const seqs = nurse.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(nurse.errors).toEqual([]);
    nurse.stop();
  });

  it("a socket of tenant B never sees tenant A's alerts", async () => {
    const fromA = subscribe(url, a);
    const fromB = subscribe(url, b);
    await until(() => fromA.states.at(-1) === 'live' && fromB.states.at(-1) === 'live');
    const before = fromB.events.length;
    const id = await raise(a, 3, 'equipment');
    await until(() => fromA.events.some((e) => e.alert.id === id));
    const own = await raise(b, 3, 'equipment');
    await until(() => fromB.events.some((e) => e.alert.id === own));
    expect(fromB.events.slice(before).map((e) => e.alert.id)).toEqual([own]);
    fromA.stop();
    fromB.stop();
  });
});

describe.skipIf(!process.env.REDIS_URL)('across two instances sharing Redis', () => {
  let other: FastifyInstance;
  let otherRedis: Redis;
  let otherUrl: string;

  beforeAll(async () => {
    otherRedis = connectRedis(t.config.REDIS_URL!);
    other = await buildApp(t.config, { database: t.database, redis: otherRedis, authSecret: t.config.AUTH_SECRET! });
    await other.listen({ port: 0, host: '127.0.0.1' });
    otherUrl = `http://127.0.0.1:${(other.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await other?.close();
    await otherRedis?.quit();
  });

  it('an alert raised on one instance reaches clients connected to either', async () => {
    const here = subscribe(url, a);
    const there = subscribe(otherUrl, a);
    await until(() => here.states.at(-1) === 'live' && there.states.at(-1) === 'live');
    // The other instance's stream reader starts at the stream's end: give it a moment to be reading.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const id = await raise(a, 4, 'fall');
    await until(() => here.events.some((e) => e.alert.id === id) && there.events.some((e) => e.alert.id === id));
    here.stop();
    there.stop();
  });
});
