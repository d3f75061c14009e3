import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

/** The app's clock: tests move it; the escalation engine and every timestamp read it. */
let clock = new Date('2026-12-01T10:00:00.000Z');
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

let t: TestApp;
let a: Tenant;
let b: Tenant;
let hospital: string;
let unit: string;
let rooms: string[];
let otherUnit: string;
let otherRoom: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function created(call: Promise<{ statusCode: number; json(): unknown }>): Promise<Json> {
  const res = await call;
  expect(res.statusCode, JSON.stringify(res.json())).toBe(201);
  return res.json() as Json;
}

async function place(tenant: Tenant, name: string) {
  const admin = as(t.app, tenant.users.admin.token);
  const h = await created(admin({ method: 'POST', url: '/api/v1/hospitals', payload: { name } }));
  const u = await created(admin({ method: 'POST', url: `/api/v1/hospitals/${h.id}/units`, payload: { name: '4B' } }));
  const roomIds: string[] = [];
  for (const room of ['12', '13', '14', '15', '16', '17']) {
    roomIds.push(
      (await created(admin({ method: 'POST', url: `/api/v1/units/${u.id}/rooms`, payload: { name: room } }))).id,
    );
  }
  return { hospital: h.id as string, unit: u.id as string, rooms: roomIds };
}

const raise = (tenant: Tenant, role: keyof Tenant['users'], payload: Json) =>
  as(t.app, tenant.users[role].token)({ method: 'POST', url: '/api/v1/alerts', payload });

const alertIn = (room: string, extra: Json = {}) => ({
  hospitalId: hospital,
  unitId: unit,
  roomId: room,
  type: 'fall',
  urgency: 5,
  ...extra,
});

async function detail(id: string): Promise<Json> {
  const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/${id}` });
  expect(res.statusCode).toBe(200);
  return res.json<Json>();
}

async function notificationsOf(role: keyof Tenant['users']): Promise<Json> {
  const res = await as(t.app, a.users[role].token)({ method: 'GET', url: '/api/v1/notifications' });
  expect(res.statusCode).toBe(200);
  return res.json<Json>();
}

const respond = (id: string, action: string, role: keyof Tenant['users'] = 'nurse', payload?: Json) =>
  as(t.app, a.users[role].token)({ method: 'POST', url: `/api/v1/alerts/${id}/${action}`, payload: payload ?? {} });

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => clock });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  ({ hospital, unit, rooms } = await place(a, 'North'));
  const other = await as(
    t.app,
    a.users.admin.token,
  )({
    method: 'POST',
    url: `/api/v1/hospitals/${hospital}/units`,
    payload: { name: 'ICU' },
  });
  otherUnit = other.json<{ id: string }>().id;
  otherRoom = (
    await created(
      as(
        t.app,
        a.users.admin.token,
      )({ method: 'POST', url: `/api/v1/units/${otherUnit}/rooms`, payload: { name: '1' } }),
    )
  ).id;
  // A nurse and a doctor on duty in 4B; the manager is not on duty (tier 3 then reaches every manager).
  for (const role of ['nurse', 'doctor'] as const) {
    const res = await as(
      t.app,
      a.users[role].token,
    )({
      method: 'POST',
      url: '/api/v1/staff/me/shift/start',
      payload: { unitId: unit },
    });
    expect(res.statusCode).toBe(201);
  }
  // Steps in seconds: urgency 5 escalates at 10, 20 and 30 s; an acknowledgement times out after 15 s.
  const policy = await as(
    t.app,
    a.users.manager.token,
  )({
    method: 'PUT',
    url: `/api/v1/hospitals/${hospital}/escalation-policy`,
    payload: { rules: [{ urgency: 5, delaysSeconds: [10, 20, 30] }], ackTimeoutSeconds: 15 },
  });
  expect(policy.statusCode).toBe(200);
}, 120_000);
afterAll(async () => t?.close());

describe('raising', () => {
  it('tells tier 1 (nurses on duty in the unit) at once, in-app, and records the timeline and the event', async () => {
    const before = (await notificationsOf('nurse')).unread as number;
    const res = await raise(a, 'operator', alertIn(rooms[0]!, { description: 'Found on the floor' }));
    expect(res.statusCode).toBe(201);
    const alert = res.json<Json>();
    expect(alert).toMatchObject({
      status: 'active',
      priority: 'high',
      tier: 1,
      step: 0,
      raisedCount: 1,
      source: 'user',
      policy: { delaysSeconds: [10, 20, 30], ackTimeoutSeconds: 15 },
    });
    expect(new Date(alert.nextEscalationAt).getTime()).toBe(clock.getTime() + 10_000);

    const nurse = await notificationsOf('nurse');
    expect(nurse.unread).toBe(before + 1);
    expect(nurse.data[0]).toMatchObject({ alertId: alert.id, kind: 'alert', tier: 1 });
    // Unit and room, never the patient or the description.
    expect(nurse.data[0].title).toBe('High-priority alert (fall), 4B, room 12');
    expect(JSON.stringify(nurse.data[0])).not.toContain('floor');
    expect((await notificationsOf('doctor')).data.some((n: Json) => n.alertId === alert.id)).toBe(false);

    const view = await detail(alert.id);
    expect(view.location).toEqual({ hospitalName: 'North', unitName: '4B', roomName: '12' });
    expect(view.timeline.map((e: Json) => e.type).slice(0, 2)).toEqual(['raised', 'notified']);
    expect(view.timeline[1].detail).toMatchObject({ userId: a.users.nurse.id, channel: 'in-app', result: 'sent' });
    // Push is on by default for urgency 5 (with keys made for this process); email is off without SMTP_URL.
    expect(view.timeline.filter((e: Json) => e.type === 'delivery-queued').map((e: Json) => e.detail.channel)).toEqual([
      'push',
    ]);
    await respond(alert.id, 'resolve', 'nurse', { resolution: 'Helped back to bed' });
  });

  it('counts a repeat on the open alert of the same room and type, also when raises race', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => raise(a, 'nurse', alertIn(rooms[1]!))));
    const codes = answers.map((res) => res.statusCode).sort();
    expect(codes).toEqual([200, 200, 200, 200, 200, 201]);
    const ids = new Set(answers.map((res) => res.json<Json>().id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    const view = await detail(id);
    expect(view.raisedCount).toBe(6);
    expect(view.timeline.filter((e: Json) => e.type === 'repeated')).toHaveLength(5);
    // Another type in the same room is another alert; once resolved, the same type is new again.
    expect((await raise(a, 'nurse', alertIn(rooms[1]!, { type: 'pain', urgency: 3 }))).statusCode).toBe(201);
    await respond(id, 'resolve', 'nurse', { resolution: 'done' });
    expect((await raise(a, 'nurse', alertIn(rooms[1]!))).statusCode).toBe(201);
  });

  it('refuses bad input with a 4xx and changes nothing', async () => {
    const list = async () =>
      (await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/alerts?limit=100' })).json<Json>().data
        .length;
    const count = await list();
    for (const [payload, status] of [
      [alertIn(rooms[2]!, { urgency: 6 }), 400],
      [alertIn(rooms[2]!, { urgency: '5' }), 400],
      [alertIn(rooms[2]!, { type: 'gossip' }), 400],
      [alertIn(rooms[2]!, { extra: 1 }), 400],
      [alertIn(rooms[2]!, { patientId: 'abc' }), 400],
      [alertIn(otherRoom), 404],
      [{ ...alertIn(rooms[2]!), unitId: otherUnit }, 404],
      [alertIn(rooms[2]!, { patientId: 'nope', patientMrn: 'MRN-1' }), 404],
    ] as const) {
      const res = await raise(a, 'nurse', payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json<Json>().error.message).not.toContain('stack');
    }
    expect(await list()).toBe(count);
  });

  it("another tenant's rooms and alerts are 404, and its lists and events show none of them", async () => {
    const mine = await raise(a, 'nurse', alertIn(rooms[2]!, { type: 'equipment', urgency: 2 }));
    const id = mine.json<Json>().id as string;
    expect((await raise(b, 'nurse', alertIn(rooms[2]!))).statusCode).toBe(404);
    const asB = as(t.app, b.users.manager.token);
    expect((await asB({ method: 'GET', url: `/api/v1/alerts/${id}` })).statusCode).toBe(404);
    expect((await asB({ method: 'POST', url: `/api/v1/alerts/${id}/acknowledge`, payload: {} })).statusCode).toBe(404);
    expect((await asB({ method: 'GET', url: `/api/v1/hospitals/${hospital}/escalation-policy` })).statusCode).toBe(404);
    expect((await asB({ method: 'GET', url: '/api/v1/alerts' })).json<Json>().data).toEqual([]);
    expect((await asB({ method: 'GET', url: '/api/v1/alerts/events?after=0' })).json<Json>().data).toEqual([]);
    expect((await respond(id, 'resolve', 'nurse', { resolution: 'ok' })).statusCode).toBe(200);
  });
});

describe('escalation', () => {
  const tick = () => t.app.escalations.tick();

  it('escalates on the timers, acknowledgement stops it, an acknowledgement that times out escalates again', async () => {
    const alert = (await raise(a, 'operator', alertIn(rooms[3]!))).json<Json>();
    const id = alert.id as string;

    advance(9);
    await tick();
    expect((await detail(id)).step).toBe(0);

    advance(1); // 10 s: step 1, tier 2 (doctors join).
    await tick();
    let view = await detail(id);
    expect(view).toMatchObject({ step: 1, tier: 2, status: 'active' });
    expect(new Date(view.nextEscalationAt).getTime()).toBe(new Date(alert.createdAt).getTime() + 20_000);
    const doctor = await notificationsOf('doctor');
    expect(doctor.data.find((n: Json) => n.alertId === id)).toMatchObject({ kind: 'escalation', tier: 2 });

    advance(2); // 12 s: the nurse acknowledges; the step due at 20 s must not fire.
    expect((await respond(id, 'acknowledge')).json<Json>().status).toBe('acknowledged');
    // Idempotent: a second acknowledgement changes nothing.
    const again = await respond(id, 'acknowledge');
    expect(again.statusCode).toBe(200);
    advance(10); // 22 s
    await tick();
    view = await detail(id);
    expect(view).toMatchObject({ step: 1, status: 'acknowledged' });

    advance(5); // 27 s = acknowledged at 12 s + 15 s: re-escalates to tier 3, with a reminder to the acknowledger.
    await tick();
    view = await detail(id);
    expect(view).toMatchObject({ step: 2, tier: 3, status: 'active', acknowledgedBy: null });
    const types = view.timeline.map((e: Json) => e.type);
    expect(types.filter((type: string) => type === 'acknowledged')).toHaveLength(1);
    expect(types).toContain('ack-timeout');
    const nurse = await notificationsOf('nurse');
    expect(nurse.data.some((n: Json) => n.alertId === id && n.kind === 'ack-reminder')).toBe(true);
    expect(nurse.data.find((n: Json) => n.kind === 'ack-reminder').title).toMatch(/^Reminder/);
    // Tier 3 reaches the managers (none on duty: every manager of the organization).
    expect((await notificationsOf('manager')).data.some((n: Json) => n.alertId === id && n.tier === 3)).toBe(true);

    expect((await respond(id, 'resolve', 'doctor', { resolution: 'Seen' })).json<Json>().status).toBe('resolved');
    advance(60);
    await tick();
    expect((await detail(id)).step).toBe(2);
    // Resolving twice changes nothing; acknowledging a resolved alert is a conflict.
    expect((await respond(id, 'resolve', 'doctor', { resolution: 'Seen again' })).json<Json>().resolution).toBe('Seen');
    expect((await respond(id, 'acknowledge')).statusCode).toBe(409);
  });

  it('fires a due step once however many fire it at the same moment', async () => {
    const id = (await raise(a, 'operator', alertIn(rooms[4]!))).json<Json>().id as string;
    advance(10);
    const results = await Promise.all([
      t.app.escalations.fire(a.organizationId, [id]),
      t.app.escalations.fire(a.organizationId, [id]),
      t.app.escalations.fire(a.organizationId, [id]),
      tick(),
    ]);
    const view = await detail(id);
    expect(view.step).toBe(1);
    expect(view.timeline.filter((e: Json) => e.type === 'escalated')).toHaveLength(1);
    expect(results.slice(0, 3).reduce((sum, fired) => sum + fired, 0)).toBeLessThanOrEqual(1);
    await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
  });

  it('a silenced alert tells nobody until the silence ends, then resumes', async () => {
    const id = (await raise(a, 'operator', alertIn(rooms[5]!))).json<Json>().id as string;
    const until = new Date(clock.getTime() + 60_000).toISOString();
    expect((await respond(id, 'silence', 'nurse', { until })).json<Json>().status).toBe('silenced');
    advance(30);
    await tick();
    expect((await detail(id)).step).toBe(0);
    advance(30);
    await tick();
    const view = await detail(id);
    expect(view.status).toBe('active');
    expect(view.timeline.map((e: Json) => e.type)).toContain('silence-ended');
    // A silence in the past or beyond 24 hours is refused.
    expect(
      (await respond(id, 'silence', 'nurse', { until: new Date(clock.getTime() - 1000).toISOString() })).statusCode,
    ).toBe(400);
    await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
  });

  it('with nobody on duty for the tier, the alert is itself an alert to the managers', async () => {
    const res = await raise(a, 'operator', {
      hospitalId: hospital,
      unitId: otherUnit,
      roomId: otherRoom,
      type: 'assistance',
      urgency: 3,
    });
    const id = res.json<Json>().id as string;
    const view = await detail(id);
    expect(view.timeline.find((e: Json) => e.type === 'undelivered').detail).toMatchObject({ tier: 1 });
    const manager = await notificationsOf('manager');
    expect(manager.data.find((n: Json) => n.alertId === id)).toMatchObject({ kind: 'undelivered' });
    await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
  });
});

describe('maintenance windows', () => {
  it("while a window is open the unit's alerts are recorded but notify nobody; closing it restores notifications", async () => {
    const asManager = as(t.app, a.users.manager.token);
    const window = {
      startsAt: new Date(clock.getTime() - 60_000).toISOString(),
      endsAt: new Date(clock.getTime() + 3_600_000).toISOString(),
      reason: 'Nurse call system upgrade',
    };
    for (const [payload, status] of [
      [{ ...window, endsAt: window.startsAt }, 400],
      [{ ...window, endsAt: new Date(clock.getTime() + 8 * 86_400_000).toISOString() }, 400],
      [{ ...window, reason: '' }, 400],
    ] as const) {
      const res = await asManager({ method: 'POST', url: `/api/v1/units/${otherUnit}/maintenance-windows`, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
    }
    const asB = as(t.app, b.users.manager.token);
    expect(
      (await asB({ method: 'POST', url: `/api/v1/units/${otherUnit}/maintenance-windows`, payload: window }))
        .statusCode,
    ).toBe(404);
    const opened = await asManager({
      method: 'POST',
      url: `/api/v1/units/${otherUnit}/maintenance-windows`,
      payload: window,
    });
    expect(opened.statusCode).toBe(201);
    const windowId = opened.json<Json>().id as string;
    expect((await asB({ method: 'DELETE', url: `/api/v1/maintenance-windows/${windowId}` })).statusCode).toBe(404);

    const before = (await notificationsOf('manager')).data.length as number;
    const quiet = (
      await raise(a, 'operator', {
        hospitalId: hospital,
        unitId: otherUnit,
        roomId: otherRoom,
        type: 'equipment',
        urgency: 4,
      })
    ).json<Json>();
    const view = await detail(quiet.id);
    expect(view.timeline.map((e: Json) => e.type)).toEqual(['raised', 'suppressed']);
    expect(view.timeline[1].detail).toMatchObject({ reason: 'maintenance window', windowId });
    expect((await notificationsOf('manager')).data.length).toBe(before);
    // Its first step comes due inside the window: held until the window ends, not used up unheard.
    advance(600);
    await t.app.escalations.tick();
    const held = await detail(quiet.id);
    expect(held.step).toBe(0);
    expect(held.timeline.at(-1)).toMatchObject({ type: 'postponed', detail: { windowId } });

    // Closing it ends it now (kept as the record) and lets the held step fire.
    expect((await asManager({ method: 'DELETE', url: `/api/v1/maintenance-windows/${windowId}` })).statusCode).toBe(
      204,
    );
    await t.app.escalations.tick();
    expect((await detail(quiet.id)).step).toBe(1);
    const open = await asManager({ method: 'GET', url: `/api/v1/units/${otherUnit}/maintenance-windows` });
    expect(open.json<Json>().data).toEqual([]);
    const heard = (
      await raise(a, 'operator', {
        hospitalId: hospital,
        unitId: otherUnit,
        roomId: otherRoom,
        type: 'other',
        urgency: 4,
      })
    ).json<Json>();
    expect((await detail(heard.id)).timeline.map((e: Json) => e.type)).toContain('undelivered');
    for (const id of [quiet.id, heard.id]) await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
  });
});

describe.skipIf(!process.env.DATABASE_URL)('two worker processes on one PostgreSQL', () => {
  it('fire each step once, whichever looks first', async () => {
    const other = await buildApp(t.config, {
      database: t.database,
      redis: t.redis,
      authSecret: t.config.AUTH_SECRET!,
      now: () => clock,
    });
    await other.ready();
    try {
      const ids: string[] = [];
      for (const room of rooms.slice(0, 4)) {
        ids.push((await raise(a, 'operator', alertIn(room, { type: 'assistance' }))).json<Json>().id as string);
      }
      advance(10);
      await Promise.all([t.app.escalations.tick(), other.escalations.tick(), t.app.escalations.tick()]);
      for (const id of ids) {
        const view = await detail(id);
        expect(view.step).toBe(1);
        expect(view.timeline.filter((e: Json) => e.type === 'escalated')).toHaveLength(1);
        await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
      }
    } finally {
      await other.close();
    }
  });
});

describe('event feed', () => {
  it('lists every event after a seq, in order, with the alert as it was', async () => {
    const feed = async (after: number) =>
      (
        await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/events?after=${after}&limit=500` })
      ).json<Json>();
    const start = (await feed(0)).data.at(-1)?.seq ?? 0;
    const id = (await raise(a, 'operator', alertIn(rooms[0]!, { type: 'code-blue' }))).json<Json>().id as string;
    await respond(id, 'acknowledge');
    await respond(id, 'resolve', 'nurse', { resolution: 'ok' });
    const events = (await feed(start)).data as Json[];
    expect(events.map((e) => e.type)).toEqual(['alert:new', 'alert:updated', 'alert:resolved']);
    expect(events.map((e) => e.seq)).toEqual([start + 1, start + 2, start + 3]);
    expect(events.map((e) => e.alert.status)).toEqual(['active', 'acknowledged', 'resolved']);
    // Paging: a limit of 1 gives a cursor to the next.
    const first = (
      await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/events?after=${start}&limit=1` })
    ).json<Json>();
    expect(first.data).toHaveLength(1);
    expect(first.nextCursor).toBe(String(start + 1));
  });

  it('notifications are marked read only for their owner', async () => {
    const mine = await notificationsOf('nurse');
    const id = mine.data[0].id as string;
    const asDoctor = as(t.app, a.users.doctor.token);
    expect(
      (await asDoctor({ method: 'POST', url: '/api/v1/notifications/read', payload: { ids: [id] } })).json<Json>()
        .marked,
    ).toBe(0);
    const read = await as(
      t.app,
      a.users.nurse.token,
    )({
      method: 'POST',
      url: '/api/v1/notifications/read',
      payload: { ids: [id] },
    });
    expect(read.json<Json>()).toMatchObject({ marked: 1, unread: mine.unread - 1 });
  });
});

describe('analytics and health', () => {
  it('gives managers alerts per unit and urgency, time to acknowledge and the escalation rate; the dashboard counts open alerts', async () => {
    const asManager = as(t.app, a.users.manager.token);
    const from = new Date('2026-12-01T00:00:00.000Z').toISOString();
    const res = await asManager({ method: 'GET', url: `/api/v1/alerts/stats?from=${from}` });
    expect(res.statusCode).toBe(200);
    const stats = res.json<Json>();
    const all = await asManager({ method: 'GET', url: '/api/v1/alerts?status=resolved&limit=100' });
    const open = await asManager({ method: 'GET', url: '/api/v1/alerts?limit=100' });
    const total = all.json<Json>().data.length + open.json<Json>().data.length;
    expect(stats.total).toBe(total);
    expect(stats.byUnit.reduce((sum: number, row: Json) => sum + row.count, 0)).toBe(total);
    expect(stats.byUnit.find((row: Json) => row.unitName === '4B' && row.urgency === 5).count).toBeGreaterThan(3);
    // Acknowledged at 12 s (the escalation test) and at once (the event feed test).
    expect(stats.timeToAcknowledge.acknowledged).toBeGreaterThanOrEqual(2);
    expect(stats.timeToAcknowledge.p90Seconds).toBeGreaterThanOrEqual(stats.timeToAcknowledge.medianSeconds);
    expect(stats.escalationRate).toBeGreaterThan(0);
    expect(stats.escalationRate).toBeLessThan(1);
    expect((await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/alerts/stats' })).statusCode).toBe(403);

    const dashboard = await asManager({ method: 'GET', url: '/api/v1/dashboard/stats' });
    expect(dashboard.json<Json>().activeAlerts).toBe(open.json<Json>().data.length);
  });

  it("reports the escalation engine's heartbeat on /health/ready", async () => {
    await t.app.escalations.tick();
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.json<Json>().escalations).toMatchObject({ running: true, healthy: true });
  });
});
