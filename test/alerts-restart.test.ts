import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, type Server, signIn, startServer, storage, within } from './helpers/server-process.js';

// An escalation step is a durable timer (alerts.next_escalation_at), not an in-memory one: a step that
// comes due while the only server is dead (SIGKILL, nothing done on the way out) must fire, once, at
// the engine's first look after the restart, and record how late it was.

/** Steps 1 and 2 of an urgency-5 alert, in seconds after the raise (tiers 2 and 3). */
const DELAYS_SECONDS = [3, 6];
const ENGINE_INTERVAL_MS = 200;
/** How long the restarted server has to fire both overdue steps. */
const FIRE_WITHIN_MS = 20_000;

afterAll(cleanUp);

/** Calls the API as the holder of `token`; fails the test unless it answers `status`. */
async function call<T>(server: Server, token: string, status: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  expect(res.status, `${method} ${path}: ${text}`).toBe(status);
  return JSON.parse(text) as T;
}

interface StaffMe {
  userId: string;
  hospitalId: string | null;
  unitId: string | null;
  onDuty: boolean;
}

interface TimelineEntry {
  type: string;
  detail: Record<string, unknown> | null;
  at: string;
}

interface AlertDetail {
  id: string;
  status: string;
  step: number;
  tier: number;
  nextEscalationAt: string | null;
  createdAt: string;
  timeline: TimelineEntry[];
}

/** The caller's staff profile, on duty in its unit (a shift is started if the demo left none open). */
async function onDuty(server: Server, token: string): Promise<StaffMe> {
  const me = await call<StaffMe>(server, token, 200, 'GET', '/api/v1/staff/me');
  expect(me.unitId).not.toBeNull();
  if (!me.onDuty) await call(server, token, 201, 'POST', '/api/v1/staff/me/shift/start', { unitId: me.unitId });
  return me;
}

/** The users told in-app at `tier`, from the timeline. */
const notifiedAt = (alert: AlertDetail, tier: number) =>
  alert.timeline
    .filter((entry) => entry.type === 'notified' && entry.detail?.tier === tier)
    .map((entry) => entry.detail!.userId);

describe('alert escalation across a crash', () => {
  it('fires the steps that came due while the server was killed, once each, after the restart', async () => {
    const env = { ...(await storage('alerts-restart')), ALERTS_ENGINE_INTERVAL_MS: String(ENGINE_INTERVAL_MS) };
    const first = await startServer(env);
    const [manager, nurse, doctor] = await Promise.all(
      ['manager', 'nurse', 'doctor'].map((role) => signIn(first, `${role}@demo.test`)),
    );
    const nurseMe = await onDuty(first, nurse!);
    const doctorMe = await onDuty(first, doctor!);
    const managerMe = await call<StaffMe>(first, manager!, 200, 'GET', '/api/v1/staff/me');
    expect(doctorMe.unitId).toBe(nurseMe.unitId);
    const hospitalId = nurseMe.hospitalId!;
    const unitId = nurseMe.unitId!;
    const rooms = await call<{ data: { id: string }[] }>(first, nurse!, 200, 'GET', `/api/v1/units/${unitId}/rooms`);
    expect(rooms.data.length).toBeGreaterThan(0);
    await call(first, manager!, 200, 'PUT', `/api/v1/hospitals/${hospitalId}/escalation-policy`, {
      rules: [{ urgency: 5, delaysSeconds: DELAYS_SECONDS }],
      ackTimeoutSeconds: 60,
    });

    const raised = await call<AlertDetail>(first, nurse!, 201, 'POST', '/api/v1/alerts', {
      hospitalId,
      unitId,
      roomId: rooms.data[0]!.id,
      type: 'code-blue',
      urgency: 5,
    });
    const raisedAt = new Date(raised.createdAt).getTime();
    const dueAt = DELAYS_SECONDS.map((seconds) => raisedAt + seconds * 1000);
    expect(new Date(raised.nextEscalationAt!).getTime()).toBe(dueAt[0]);
    const before = await call<AlertDetail>(first, nurse!, 200, 'GET', `/api/v1/alerts/${raised.id}`);
    expect(before.step).toBe(0);
    expect(before.tier).toBe(1);
    expect(notifiedAt(before, 1)).toContain(nurseMe.userId);
    expect(before.timeline.filter((entry) => entry.type === 'escalated')).toEqual([]);

    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Same machine, same clock: the kill came before step 1 was due, so the first server cannot have fired it.
    expect(killedAt, 'the kill came after step 1 was due; the test machine is too slow').toBeLessThan(dueAt[0]!);
    await within(10_000, 'the killed server to exit', first.exited);
    expect(first.child.signalCode).toBe('SIGKILL');

    // Down until both steps are overdue (a second past the last one), then back on the same storage.
    await sleep(Math.max(0, dueAt[1]! + 1000 - Date.now()));
    const restartedAt = Date.now();
    const second = await startServer(env);
    const reader = await signIn(second, 'manager@demo.test');
    const deadline = Date.now() + FIRE_WITHIN_MS;
    let after = await call<AlertDetail>(second, reader, 200, 'GET', `/api/v1/alerts/${raised.id}`);
    while (after.step < DELAYS_SECONDS.length && Date.now() < deadline) {
      await sleep(ENGINE_INTERVAL_MS);
      after = await call<AlertDetail>(second, reader, 200, 'GET', `/api/v1/alerts/${raised.id}`);
    }
    expect(after.step, `step 2 did not fire within ${FIRE_WITHIN_MS} ms:\n${second.output()}`).toBe(2);

    const escalated = after.timeline.filter((entry) => entry.type === 'escalated');
    expect(escalated.map((entry) => ({ step: entry.detail!.step, tier: entry.detail!.tier }))).toEqual([
      { step: 1, tier: 2 },
      { step: 2, tier: 3 },
    ]);
    expect(after).toMatchObject({ status: 'active', step: 2, tier: 3, nextEscalationAt: null });
    // Each tier reached someone on duty (or, for tier 3, the managers): nothing went undelivered.
    expect(after.timeline.filter((entry) => entry.type === 'undelivered')).toEqual([]);
    const [step1At, step2At] = escalated.map((entry) => new Date(entry.at).getTime()) as [number, number];
    // Step 1 was fired by the restarted server, late by at least the time it spent overdue while
    // nothing ran; step 2, overdue too, waited its own interval after step 1 rather than paging
    // tier 3 in the same burst.
    expect(step1At).toBeGreaterThanOrEqual(restartedAt);
    expect(escalated[0]!.detail!.lateMs).toBeGreaterThanOrEqual(restartedAt - dueAt[0]!);
    expect(step2At - step1At).toBeGreaterThanOrEqual((DELAYS_SECONDS[1]! - DELAYS_SECONDS[0]!) * 1000);
    expect(notifiedAt(after, 2)).toEqual(expect.arrayContaining([nurseMe.userId, doctorMe.userId]));
    expect(notifiedAt(after, 3)).toEqual(expect.arrayContaining([nurseMe.userId, doctorMe.userId, managerMe.userId]));

    second.child.kill('SIGTERM');
    expect(await within(15_000, 'the restarted server to stop', second.exited)).toBe(0);
  }, 240_000);
});
