import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDoctors, type Clinic, seedClinic } from '../../../test/helpers/appointments-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { APPOINTMENT_ACTIONS, APPOINTMENT_MACHINE, type AppointmentAction } from './appointment-status.js';
import { APPOINTMENT_STATUSES } from './appointments.schema.js';

let t: TestApp;
let a: Tenant;
let clinic: Clinic;
let now = new Date('2026-03-02T12:00:00Z');

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => now });
  a = await createTenant(t.app);
  clinic = await seedClinic(t.app, a);
});
afterAll(() => t.close());

type Status = (typeof APPOINTMENT_STATUSES)[number];
interface Appointment {
  id: string;
  status: Status;
  start: string;
}

const operator = () => as(t.app, a.users.operator.token);

// Each appointment gets its own 10-minute slot, from 20 hours before `now` on: they never collide,
// and those booked first lie in the past, so that a no-show is possible.
let slot = 0;
function nextSlot() {
  const start = new Date(now.getTime() - 20 * 3600_000 + slot++ * 10 * 60_000);
  return { start: start.toISOString(), end: new Date(start.getTime() + 10 * 60_000).toISOString() };
}

async function book(times = nextSlot()): Promise<Appointment> {
  const res = await operator()({
    method: 'POST',
    url: '/api/v1/appointments',
    payload: { patientId: clinic.patientIds[0], practitionerId: a.users.doctor.id, ...times },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** Calls `action` as the operator, who holds both appointments:schedule and appointments:progress. */
function act(id: string, action: AppointmentAction) {
  const url = `/api/v1/appointments/${id}`;
  if (action === 'reschedule') return operator()({ method: 'PATCH', url, payload: { ...nextSlot() } });
  if (action === 'cancel')
    return operator()({ method: 'POST', url: `${url}/cancel`, payload: { reason: 'Changed plans' } });
  return operator()({ method: 'POST', url: `${url}/${action}` });
}

/** The legal path from booked to each status. */
const PATHS: Record<Status, AppointmentAction[]> = {
  booked: [],
  'checked-in': ['check-in'],
  'in-progress': ['check-in', 'start'],
  completed: ['check-in', 'start', 'complete'],
  cancelled: ['cancel'],
  'no-show': ['no-show'],
};

async function inStatus(status: Status): Promise<Appointment> {
  const appointment = await book();
  for (const action of PATHS[status]) expect((await act(appointment.id, action)).statusCode).toBe(200);
  return { ...appointment, status };
}

describe('the status machine', () => {
  it('is the documented one', () => {
    expect(APPOINTMENT_MACHINE).toEqual({
      booked: { reschedule: 'booked', 'check-in': 'checked-in', cancel: 'cancelled', 'no-show': 'no-show' },
      'checked-in': { start: 'in-progress', cancel: 'cancelled' },
      'in-progress': { complete: 'completed' },
      completed: {},
      cancelled: {},
      'no-show': {},
    });
  });

  describe.each(APPOINTMENT_STATUSES)('from %s', (status) => {
    const legal = APPOINTMENT_ACTIONS.filter((action) => APPOINTMENT_MACHINE[status][action]);
    const illegal = APPOINTMENT_ACTIONS.filter((action) => !APPOINTMENT_MACHINE[status][action]);

    it.each(legal)('allows %s, audited', async (action) => {
      const appointment = await inStatus(status);
      const res = await act(appointment.id, action);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe(APPOINTMENT_MACHINE[status][action]);
      const audit = await as(
        t.app,
        a.users.admin.token,
      )({
        method: 'GET',
        url: `/api/v1/audit-events?resourceId=${appointment.id}&action=appointments.${action}`,
      });
      expect(audit.json().data).toEqual([expect.objectContaining({ patientId: clinic.patientIds[0] })]);
    });

    if (illegal.length > 0) {
      it(`refuses ${illegal.join(', ')} with 409 naming the status, and changes nothing`, async () => {
        const appointment = await inStatus(status);
        for (const action of illegal) {
          const res = await act(appointment.id, action);
          expect(res.statusCode, `${action} from ${status}`).toBe(409);
          expect(res.json().error.message).toMatch(new RegExp(`^the appointment is ${status}: it cannot be `));
        }
        const after = await operator()({ method: 'GET', url: `/api/v1/appointments/${appointment.id}` });
        expect(after.json()).toMatchObject({ status, start: appointment.start });
      });
    }
  });

  it('keeps the reason of a cancellation', async () => {
    const appointment = await book();
    const res = await operator()({
      method: 'POST',
      url: `/api/v1/appointments/${appointment.id}/cancel`,
      payload: { reason: 'Patient called' },
    });
    expect(res.json()).toMatchObject({ status: 'cancelled', cancelReason: 'Patient called' });
  });

  it('requires a reason to cancel', async () => {
    const appointment = await book();
    for (const payload of [{}, { reason: '   ' }, { reason: 'x'.repeat(501) }]) {
      const res = await operator()({ method: 'POST', url: `/api/v1/appointments/${appointment.id}/cancel`, payload });
      expect(res.statusCode).toBe(400);
    }
  });

  it('marks a no-show only once the appointment has started (by the app clock)', async () => {
    const start = new Date(now.getTime() + 3600_000);
    const appointment = await book({
      start: start.toISOString(),
      end: new Date(start.getTime() + 600_000).toISOString(),
    });
    const early = await act(appointment.id, 'no-show');
    expect(early.statusCode).toBe(409);
    expect(early.json().error.message).toContain('only once it has started');
    const saved = now;
    now = new Date(start.getTime() + 60_000);
    try {
      expect((await act(appointment.id, 'no-show')).json().status).toBe('no-show');
    } finally {
      now = saved;
    }
  });

  it('checks in from 12 hours before the start, not days ahead', async () => {
    const start = new Date(now.getTime() + 25 * 24 * 3600_000);
    const appointment = await book({
      start: start.toISOString(),
      end: new Date(start.getTime() + 600_000).toISOString(),
    });
    const early = await act(appointment.id, 'check-in');
    expect(early.statusCode).toBe(409);
    expect(early.json().error.message).toContain('check-in opens 12 hours before');
    const saved = now;
    now = new Date(start.getTime() - 11 * 3600_000);
    try {
      expect((await act(appointment.id, 'check-in')).json().status).toBe('checked-in');
    } finally {
      now = saved;
    }
  });

  it('refuses input an action does not take, rather than ignoring it', async () => {
    const appointment = await book();
    const res = await operator()({
      method: 'POST',
      url: `/api/v1/appointments/${appointment.id}/check-in`,
      payload: { status: 'completed' },
    });
    expect(res.statusCode).toBe(400);
    const unchanged = await operator()({ method: 'GET', url: `/api/v1/appointments/${appointment.id}` });
    expect(unchanged.json().status).toBe('booked');
    const empty = await operator()({
      method: 'POST',
      url: `/api/v1/appointments/${appointment.id}/check-in`,
      payload: {},
    });
    expect(empty.statusCode).toBe(200);
  });

  it('lets a nurse and a doctor check in, start and complete, but not cancel or mark a no-show', async () => {
    for (const role of ['nurse', 'doctor'] as const) {
      const call = as(t.app, a.users[role].token);
      const appointment = await book();
      for (const action of ['check-in', 'start', 'complete']) {
        const res = await call({ method: 'POST', url: `/api/v1/appointments/${appointment.id}/${action}` });
        expect(res.statusCode).toBe(200);
      }
      const other = await book();
      const cancel = await call({
        method: 'POST',
        url: `/api/v1/appointments/${other.id}/cancel`,
        payload: { reason: 'x' },
      });
      expect(cancel.statusCode).toBe(403);
      expect(cancel.json().error.message).toContain('appointments:schedule');
      const noShow = await call({ method: 'POST', url: `/api/v1/appointments/${other.id}/no-show` });
      expect(noShow.statusCode).toBe(403);
    }
  });

  it('lets a manager read but not progress', async () => {
    const appointment = await book();
    const call = as(t.app, a.users.manager.token);
    expect((await call({ method: 'GET', url: `/api/v1/appointments/${appointment.id}` })).statusCode).toBe(200);
    const res = await call({ method: 'POST', url: `/api/v1/appointments/${appointment.id}/check-in` });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('appointments:progress');
  });
});

describe('a freed slot', () => {
  it.each(['cancel', 'no-show'] as const)('after %s, can be booked again', async (action) => {
    const times = nextSlot();
    const first = await book(times);
    const taken = await operator()({
      method: 'POST',
      url: '/api/v1/appointments',
      payload: { patientId: clinic.patientIds[1], practitionerId: a.users.doctor.id, ...times },
    });
    expect(taken.statusCode).toBe(409);
    expect((await act(first.id, action)).statusCode).toBe(200);
    const again = await book(times);
    expect(again.id).not.toBe(first.id);
  });
});

describe('racing bookings', () => {
  const race = (payloads: object[]) =>
    Promise.all(payloads.map((payload) => operator()({ method: 'POST', url: '/api/v1/appointments', payload })));

  function outcome(responses: Awaited<ReturnType<typeof race>>) {
    const won = responses.filter((res) => res.statusCode === 201);
    const lost = responses.filter((res) => res.statusCode === 409);
    return { won, lost, other: responses.filter((res) => res.statusCode !== 201 && res.statusCode !== 409) };
  }

  it('give one practitioner one appointment: ten at once, one 201 and nine 409s naming it', async () => {
    const times = nextSlot();
    const responses = await race(
      Array.from({ length: 10 }, (_, i) => ({
        patientId: clinic.patientIds[i % clinic.patientIds.length],
        practitionerId: a.users.doctor.id,
        ...times,
      })),
    );
    const { won, lost, other } = outcome(responses);
    expect(other.map((res) => res.body)).toEqual([]);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    const winner = won[0]!.json().id as string;
    for (const res of lost) {
      expect(res.json().error.message).toContain(`the practitioner is already booked`);
      expect(res.json().error.message).toContain(`(appointment ${winner})`);
    }
  });

  it('give one room one appointment: ten practitioners at once, one 201 and nine 409s naming it', async () => {
    const doctors = await addDoctors(t.app, a, 10);
    const times = nextSlot();
    const responses = await race(
      doctors.map((practitionerId) => ({
        patientId: clinic.patientIds[0],
        practitionerId,
        roomId: clinic.roomIds[0],
        ...times,
      })),
    );
    const { won, lost, other } = outcome(responses);
    expect(other.map((res) => res.body)).toEqual([]);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    const winner = won[0]!.json().id as string;
    for (const res of lost) {
      expect(res.json().error).toMatchObject({
        message: expect.stringContaining(`the room is already booked`),
        details: [{ path: 'body.roomId', message: expect.stringContaining(winner) }],
      });
    }
  });
});
