import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointments } from '../src/modules/appointments/appointments.schema.js';
import { encounters } from '../src/modules/encounters/encounters.schema.js';
import { insertPatient } from './helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';
import { eventually } from './helpers/eventually.js';

// A critical lab result raises an alert in the room where the patient is seen; without a known
// room, the order's timeline says why none was raised.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The outbox delivers the critical result to the alerts module within seconds. */
const soon = <T>(check: () => Promise<T | undefined>) => eventually(check, 15_000);

let t: TestApp;
let a: Tenant;
let place: { hospital: string; unit: string; room: string };
let testId: string;

/** An encounter opened from an appointment in the room (inserted directly: only the chain matters here). */
let slot = 0;
async function encounterInRoom(patientId: string): Promise<string> {
  // Each in its own hour: one doctor's appointments never overlap.
  const startsAt = new Date(Date.now() + slot++ * 3_600_000);
  const [appointment] = await t.app.database.db
    .insert(appointments)
    .values({
      organizationId: a.organizationId,
      patientId,
      practitionerId: a.users.doctor.id,
      hospitalId: place.hospital,
      roomId: place.room,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 1_800_000),
      status: 'in-progress',
    })
    .returning({ id: appointments.id });
  const [encounter] = await t.app.database.db
    .insert(encounters)
    .values({
      organizationId: a.organizationId,
      patientId,
      appointmentId: appointment!.id,
      hospitalId: place.hospital,
      openedBy: a.users.doctor.id,
    })
    .returning({ id: encounters.id });
  return encounter!.id;
}

/** Orders the test, then collects, starts and results it with `value`; returns the order id. */
async function resulted(patientId: string, encounterId: string | undefined, value: string): Promise<string> {
  const order = await as(
    t.app,
    a.users.doctor.token,
  )({
    method: 'POST',
    url: '/api/v1/lab-orders',
    payload: { patientId, testId, ...(encounterId ? { encounterId } : {}) },
  });
  expect(order.statusCode, order.body).toBe(201);
  const id = order.json<Json>().id as string;
  const nurse = as(t.app, a.users.nurse.token);
  for (const step of ['collect', 'start']) {
    expect((await nurse({ method: 'POST', url: `/api/v1/lab-orders/${id}/${step}`, payload: {} })).statusCode).toBe(
      200,
    );
  }
  const result = await nurse({
    method: 'POST',
    url: `/api/v1/lab-orders/${id}/results`,
    payload: { value, unit: 'mmol/L' },
  });
  expect(result.statusCode, result.body).toBe(200);
  return id;
}

const orderTimeline = async (id: string) =>
  (await as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/lab-orders/${id}` })).json<Json>()
    .timeline as Json[];

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
  const admin = as(t.app, a.users.admin.token);
  const hospital = (await admin({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'South' } })).json<Json>();
  const unit = (
    await admin({ method: 'POST', url: `/api/v1/hospitals/${hospital.id}/units`, payload: { name: 'Cardiology' } })
  ).json<Json>();
  const room = (
    await admin({ method: 'POST', url: `/api/v1/units/${unit.id}/rooms`, payload: { name: '7' } })
  ).json<Json>();
  place = { hospital: hospital.id, unit: unit.id, room: room.id };
  await as(
    t.app,
    a.users.nurse.token,
  )({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId: unit.id } });
  const test = await admin({
    method: 'POST',
    url: '/api/v1/lab-tests',
    payload: {
      code: 'K',
      name: 'Potassium, serum',
      unit: 'mmol/L',
      referenceLow: '3.5',
      referenceHigh: '5.0',
      criticalLow: '2.5',
      criticalHigh: '6.5',
    },
  });
  expect(test.statusCode, test.body).toBe(201);
  testId = test.json<Json>().id as string;
}, 120_000);
afterAll(async () => t?.close());

describe('critical lab results', () => {
  it('raise an urgency-5 alert in the room where the patient is seen, told to the nurses on duty', async () => {
    const patientId = await insertPatient(t.app, a);
    const orderId = await resulted(patientId, await encounterInRoom(patientId), '6.54321');

    const raised = await soon(async () =>
      (await orderTimeline(orderId)).find((event) => event.type === 'alert-raised'),
    );
    const alertId = raised.detail.alertId as string;
    const alert = (
      await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/${alertId}` })
    ).json<Json>();
    expect(alert).toMatchObject({
      type: 'critical-lab',
      urgency: 5,
      priority: 'high',
      source: 'system',
      raisedBy: null,
      patientId,
      roomId: place.room,
      unitId: place.unit,
    });
    expect(alert.timeline[0]).toMatchObject({ type: 'raised', detail: { labOrderId: orderId, flag: 'critical-high' } });
    // The value never travels with the alert: only that there is a critical result to review.
    // (Looked for in the description and every timeline detail: ids and timestamps could hold any digits.)
    const told = JSON.stringify({ description: alert.description, details: alert.timeline.map((e: Json) => e.detail) });
    expect(told).not.toContain('6.54321');
    const notifications = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/notifications' });
    expect(notifications.json<Json>().data[0]).toMatchObject({ alertId, kind: 'alert' });
    expect(notifications.json<Json>().data[0].title).toBe(
      'High-priority alert (critical lab result), Cardiology, room 7',
    );
  });

  it('a second critical result in the same room counts on the open alert', async () => {
    const patientId = await insertPatient(t.app, a);
    const orderId = await resulted(patientId, await encounterInRoom(patientId), '2.1');
    const noted = await soon(
      async () =>
        await t.app
          .inject({
            method: 'GET',
            url: '/api/v1/alerts?unit=' + place.unit,
            headers: { authorization: `Bearer ${a.users.nurse.token}` },
          })
          .then((res) =>
            res.json<Json>().data.find((alert: Json) => alert.type === 'critical-lab' && alert.raisedCount === 2),
          ),
    );
    expect(noted.raisedCount).toBe(2);
    // The repeat is on the alert's timeline with the order that caused it.
    const view = (
      await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/${noted.id}` })
    ).json<Json>();
    expect(view.timeline.find((e: Json) => e.type === 'repeated').detail).toMatchObject({ labOrderId: orderId });
  });

  it('without a known room, no alert is raised and the order says why', async () => {
    const patientId = await insertPatient(t.app, a);
    const orderId = await resulted(patientId, undefined, '1.9');
    const event = await soon(async () => (await orderTimeline(orderId)).find((e) => e.type === 'alert-not-raised'));
    expect(event.detail).toEqual({ reason: 'no room is known for the order' });
  });
});
