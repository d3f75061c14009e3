import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pruneAlertEvents } from '../src/modules/alerts/alert-news.repository.js';
import { EscalationEngine } from '../src/modules/alerts/escalation-engine.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';
import { countQueries, ownQueries } from './helpers/query-counter.js';

/** The app's clock: tests move it; the escalation engine reads it. */
let clock = new Date('2026-12-01T10:00:00.000Z');
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TYPES = ['fall', 'code-blue', 'pain', 'assistance', 'equipment', 'other'];
let t: TestApp;
let a: Tenant;
let hospital: string;
let unit: string;
let rooms: string[];

beforeAll(async () => {
  // The engine looks by itself once a minute: within a test only its explicit looks (tick) fire steps.
  t = await buildTestApp({ ALERTS_ENGINE_INTERVAL_MS: '60000' }, { now: () => clock });
  a = await createTenant(t.app);
  const admin = as(t.app, a.users.admin.token);
  hospital = (await admin({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'East' } })).json<Json>().id;
  unit = (
    await admin({ method: 'POST', url: `/api/v1/hospitals/${hospital}/units`, payload: { name: '2A' } })
  ).json<Json>().id;
  rooms = [];
  for (let i = 0; i < 5; i++) {
    rooms.push(
      (await admin({ method: 'POST', url: `/api/v1/units/${unit}/rooms`, payload: { name: `${i + 1}` } })).json<Json>()
        .id,
    );
  }
  for (const role of ['nurse', 'doctor'] as const) {
    const shift = await as(
      t.app,
      a.users[role].token,
    )({
      method: 'POST',
      url: '/api/v1/staff/me/shift/start',
      payload: { unitId: unit },
    });
    expect(shift.statusCode).toBe(201);
  }
  const policy = await as(
    t.app,
    a.users.manager.token,
  )({
    method: 'PUT',
    url: `/api/v1/hospitals/${hospital}/escalation-policy`,
    payload: {
      rules: [
        { urgency: 5, delaysSeconds: [5, 10] },
        { urgency: 4, delaysSeconds: [10, 20] },
        { urgency: 2, delaysSeconds: [600, 1200] },
      ],
      ackTimeoutSeconds: 60,
    },
  });
  expect(policy.statusCode).toBe(200);
}, 120_000);
afterAll(async () => t?.close());

/** Resolves once no job is queued or running (fails after 15 s). */
const jobsIdle = () =>
  vi.waitFor(
    async () => {
      const { queues } = await t.app.jobs.stats();
      expect(Object.values(queues).every((q) => q.queued === 0 && q.active === 0)).toBe(true);
    },
    { timeout: 15_000, interval: 50 },
  );

describe('the escalation engine', () => {
  it('fires thirty due alerts in one transaction: each step once, in order on each timeline, events numbered without gaps', async () => {
    const operator = as(t.app, a.users.operator.token);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await operator({
        method: 'POST',
        url: '/api/v1/alerts',
        payload: {
          hospitalId: hospital,
          unitId: unit,
          roomId: rooms[i % 5],
          type: TYPES[Math.floor(i / 5)],
          urgency: 4,
        },
      });
      expect(res.statusCode).toBe(201);
      ids.push(res.json<Json>().id);
    }
    const feed = async (after: number) =>
      (
        await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/events?after=${after}&limit=500` })
      ).json<Json>().data as Json[];
    const before = (await feed(0)).at(-1)!.seq as number;

    // The raises' outside deliveries run as jobs, with queries of their own: counted only once they are done.
    await jobsIdle();
    advance(10);
    const queries = countQueries(t.database);
    let fired: number;
    try {
      fired = await t.app.escalations.tick();
    } finally {
      queries.restore();
    }
    expect(fired).toBe(30);
    // The look for due alerts and one transaction for all thirty (not one per alert).
    const own = ownQueries(queries.texts);
    expect(own.length, own.join('\n')).toBeLessThanOrEqual(3);

    const events = await feed(before);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => before + 1 + i));
    expect(new Set(events.map((e) => e.alert.id))).toEqual(new Set(ids));
    expect(events.every((e) => e.type === 'alert:escalated' && e.alert.step === 1 && e.alert.tier === 2)).toBe(true);

    for (const id of [ids[0]!, ids[29]!]) {
      const view = (await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/${id}` })).json<Json>();
      expect(view).toMatchObject({ step: 1, tier: 2, status: 'active' });
      // The in-app rows (the outside deliveries run as jobs, and write theirs when they run).
      const types = (view.timeline as Json[])
        .filter((e) => !e.type.startsWith('delivery') && (e.type !== 'notified' || e.detail.channel === 'in-app'))
        .map((e) => `${e.type}${e.detail?.userId ? `:${e.detail.tier}` : ''}`);
      expect(types).toEqual(['raised', 'notified:1', 'escalated', 'notified:2', 'notified:2']);
    }
    const doctor = (
      await as(t.app, a.users.doctor.token)({ method: 'GET', url: '/api/v1/notifications?limit=100' })
    ).json<Json>();
    expect(doctor.data.filter((n: Json) => ids.includes(n.alertId))).toHaveLength(30);

    // Nothing is due now: another look fires nothing.
    expect(await t.app.escalations.tick()).toBe(0);
    for (const id of ids) {
      await as(
        t.app,
        a.users.nurse.token,
      )({
        method: 'POST',
        url: `/api/v1/alerts/${id}/resolve`,
        payload: { resolution: 'ok' },
      });
    }
  });

  it('a batch that fails is fired again alert by alert: one bad alert never holds back the others', async () => {
    const calls: string[][] = [];
    const engine = new EscalationEngine(
      t.database.db,
      async (_organizationId, ids) => {
        calls.push(ids);
        if (ids.includes('bad')) throw new Error('a database error');
        return new Map(ids.map((id) => [id, 5]));
      },
      () => clock,
      t.app.log,
      { intervalMs: 1000, batch: 10, concurrency: 1 },
    );
    expect(await engine.fire(a.organizationId, ['one', 'bad', 'two'])).toBe(2);
    expect(calls).toEqual([['one', 'bad', 'two'], ['one'], ['bad'], ['two']]);
    expect(engine.stats()).toMatchObject({ fired: 2, failures: 1, lateMs: { samples: 2, max: 5 } });
  });
});

const nurse = () => as(t.app, a.users.nurse.token);
const feed = async (after: number) =>
  (await nurse()({ method: 'GET', url: `/api/v1/alerts/events?after=${after}&limit=500` })).json<Json>();
const raiseIn = (room: string, type: string, urgency: number) =>
  as(
    t.app,
    a.users.operator.token,
  )({
    method: 'POST',
    url: '/api/v1/alerts',
    payload: { hospitalId: hospital, unitId: unit, roomId: room, type, urgency },
  });

describe('a repeat at a higher urgency', () => {
  it("raises the alert's urgency, priority and steps (a step now due fires at the next look); a lower one only counts", async () => {
    const first = await raiseIn(rooms[0]!, 'pain', 2);
    expect(first.statusCode).toBe(201);
    const id = first.json<Json>().id as string;
    advance(30);
    const lower = await raiseIn(rooms[0]!, 'pain', 1);
    expect(lower.json<Json>()).toMatchObject({ id, urgency: 2, priority: 'low', raisedCount: 2 });

    const higher = await raiseIn(rooms[0]!, 'pain', 5);
    expect(higher.statusCode).toBe(200);
    expect(higher.json<Json>()).toMatchObject({ id, urgency: 5, priority: 'high', raisedCount: 3, step: 0 });
    // Under urgency 5 its first step was due 5 s after the raise (30 s ago): it fires at the next look.
    expect(new Date(higher.json<Json>().nextEscalationAt).getTime()).toBe(
      new Date(first.json<Json>().createdAt).getTime() + 5_000,
    );
    expect(higher.json<Json>().policy.delaysSeconds).toEqual([5, 10]);
    expect(await t.app.escalations.tick()).toBe(1);

    const view = (await nurse()({ method: 'GET', url: `/api/v1/alerts/${id}` })).json<Json>();
    expect(view).toMatchObject({ urgency: 5, step: 1, tier: 2 });
    const repeats = (view.timeline as Json[]).filter((e) => e.type === 'repeated');
    expect(repeats.map((e) => e.detail.urgencyFrom ?? null)).toEqual([null, 2]);
    // Tier 1 told at the raise; the step already due under urgency 5 fired at the next look and told
    // tier 2 (nurse and doctor): one wave, not the tier again and the next one straight after.
    const inApp = (view.timeline as Json[]).filter((e) => e.type === 'notified' && e.detail.channel === 'in-app');
    expect(inApp.map((e) => e.detail.tier)).toEqual([1, 2, 2]);
    await nurse()({ method: 'POST', url: `/api/v1/alerts/${id}/resolve`, payload: { resolution: 'ok' } });
  });

  it('ends a silence and tells the tier; an acknowledged alert stays taken and who took it is told', async () => {
    const silenced = (await raiseIn(rooms[3]!, 'assistance', 2)).json<Json>();
    const until = new Date(clock.getTime() + 3600_000).toISOString();
    await nurse()({ method: 'POST', url: `/api/v1/alerts/${silenced.id}/silence`, payload: { until } });
    const taken = (await raiseIn(rooms[4]!, 'assistance', 2)).json<Json>();
    const acked = (
      await nurse()({ method: 'POST', url: `/api/v1/alerts/${taken.id}/acknowledge`, payload: {} })
    ).json<Json>();

    const louder = (await raiseIn(rooms[3]!, 'assistance', 4)).json<Json>();
    expect(louder).toMatchObject({ id: silenced.id, status: 'active', urgency: 4, silencedUntil: null });
    // Urgency 4's first step is at 10 s from the raise: not yet due, so the tier on it is told now.
    expect(new Date(louder.nextEscalationAt).getTime()).toBe(new Date(silenced.createdAt).getTime() + 10_000);
    const louderView = (await nurse()({ method: 'GET', url: `/api/v1/alerts/${silenced.id}` })).json<Json>();
    expect(louderView.timeline.find((e: Json) => e.detail?.urgencyFrom === 2).detail).toMatchObject({
      silenceEnded: true,
    });
    expect(
      louderView.timeline.filter((e: Json) => e.type === 'notified' && e.detail.channel === 'in-app'),
    ).toHaveLength(2);

    const stillTaken = (await raiseIn(rooms[4]!, 'assistance', 4)).json<Json>();
    expect(stillTaken).toMatchObject({ id: taken.id, status: 'acknowledged', urgency: 4 });
    // Its acknowledgement timeout is unchanged.
    expect(stillTaken.nextEscalationAt).toBe(acked.nextEscalationAt);
    const told = (await nurse()({ method: 'GET', url: `/api/v1/alerts/${taken.id}` })).json<Json>();
    expect(
      told.timeline
        .filter((e: Json) => e.type === 'notified' && e.detail.channel === 'in-app')
        .map((e: Json) => e.detail.userId),
    ).toEqual([a.users.nurse.id, a.users.nurse.id]);
    for (const id of [silenced.id, taken.id]) {
      await nurse()({ method: 'POST', url: `/api/v1/alerts/${id}/resolve`, payload: { resolution: 'ok' } });
    }
  });
});

describe('the event feed retention', () => {
  it('deletes events older than the retention (nothing else may), and the feed says what was pruned', async () => {
    const old = await raiseIn(rooms[1]!, 'fall', 4);
    expect(old.statusCode).toBe(201);
    const oldSeq = (await feed(0)).data.at(-1).seq as number;
    await nurse()({
      method: 'POST',
      url: `/api/v1/alerts/${old.json<Json>().id}/resolve`,
      payload: { resolution: 'ok' },
    });
    advance(8 * 86_400);
    const recent = await raiseIn(rooms[2]!, 'fall', 4);
    expect(recent.statusCode).toBe(201);

    // The feed is append-only to everyone but the retention job.
    const refusal = (query: ReturnType<typeof sql>) =>
      t.database.db.execute(query).then(
        () => 'done',
        (error: { message: string; cause?: { message: string } }) => error.cause?.message ?? error.message,
      );
    expect(await refusal(sql`delete from alert_events`)).toMatch(/append-only/);
    expect(await refusal(sql`update alert_events set type = 'x'`)).toMatch(/append-only/);
    expect(await refusal(sql`delete from alert_timeline`)).toMatch(/append-only/);

    const deleted = await pruneAlertEvents(t.database.db, new Date(clock.getTime() - 7 * 86_400_000));
    expect(deleted).toBeGreaterThan(0);
    const all = await feed(0);
    expect(all.pruned).toBe(true);
    expect(all.data.map((e: Json) => e.alert.id)).toEqual([recent.json<Json>().id]);
    // A client that had seen everything up to the old events misses what was pruned after them.
    expect((await feed(oldSeq - 1)).pruned).toBe(true);
    // One that had seen everything pruned misses nothing.
    expect((await feed(all.data[0].seq - 1)).pruned).toBe(false);
    // The timelines stay.
    const view = (await nurse()({ method: 'GET', url: `/api/v1/alerts/${old.json<Json>().id}` })).json<Json>();
    expect(view.timeline.map((e: Json) => e.type)).toContain('raised');
  });
});
