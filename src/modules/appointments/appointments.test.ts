import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clinic, seedClinic } from '../../../test/helpers/appointments-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { AppointmentsService } from './appointments.service.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
let clinic: Clinic;
let otherClinic: Clinic;
const now = new Date('2026-03-02T08:00:00Z');

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => now });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  // Paris: on 2026-03-04 local midnight is 23:00 UTC the day before.
  clinic = await seedClinic(t.app, a, { timezone: 'Europe/Paris' });
  otherClinic = await seedClinic(t.app, b);
});
afterAll(() => t.close());

const at = (iso: string) => new Date(iso).toISOString();
const operator = () => as(t.app, a.users.operator.token);

/** A booking body: the doctor, the first patient, the given UTC times (HH:MM on 2026-03-03 unless a full ISO). */
function body(start: string, end: string, extra: Record<string, unknown> = {}) {
  const full = (v: string) => (v.includes('T') ? v : `2026-03-03T${v}:00Z`);
  return {
    patientId: clinic.patientIds[0],
    practitionerId: a.users.doctor.id,
    start: full(start),
    end: full(end),
    reason: 'Follow-up',
    ...extra,
  };
}

async function book(payload: Record<string, unknown>, token = a.users.operator.token) {
  return as(t.app, token)({ method: 'POST', url: '/api/v1/appointments', payload });
}

async function bookOk(payload: Record<string, unknown>) {
  const res = await book(payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; start: string; end: string; status: string; patientId: string }>();
}

const eventsFor = (resourceId: string) =>
  t.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, resourceId)))
    // In chain order: without it, PostgreSQL may return the rows in any order (it did, in a CI run).
    .orderBy(auditEvents.seq);

describe('POST /api/v1/appointments', () => {
  it("books an appointment, with the room's hospital, and records it on the audit trail", async () => {
    const res = await book(
      body('2026-03-03T10:00:00+01:00', '2026-03-03T10:30:00+01:00', { roomId: clinic.roomIds[0] }),
    );
    expect(res.statusCode).toBe(201);
    const appointment = res.json();
    expect(appointment).toMatchObject({
      patientId: clinic.patientIds[0],
      practitionerId: a.users.doctor.id,
      roomId: clinic.roomIds[0],
      hospitalId: clinic.hospitalId,
      start: '2026-03-03T09:00:00.000Z',
      end: '2026-03-03T09:30:00.000Z',
      reason: 'Follow-up',
      status: 'booked',
      cancelReason: null,
    });
    const events = await eventsFor(appointment.id);
    expect(events.map((e) => [e.action, e.patientId, e.actorId])).toEqual([
      ['appointments.book', clinic.patientIds[0], a.users.operator.id],
    ]);
  });

  it('books without a room (no hospital then), with a nurse as the practitioner', async () => {
    const appointment = await bookOk(body('11:00', '11:20', { practitionerId: a.users.nurse.id, reason: undefined }));
    expect(appointment).toMatchObject({ roomId: null, hospitalId: null, reason: null });
  });

  it.each([
    ['end before start', { start: '2026-03-03T12:00:00Z', end: '2026-03-03T11:00:00Z' }, 'body.end'],
    ['end equal to start', { start: '2026-03-03T12:00:00Z', end: '2026-03-03T12:00:00Z' }, 'body.end'],
    ['longer than 24 hours', { start: '2026-03-03T12:00:00Z', end: '2026-03-04T12:00:01Z' }, 'body.end'],
    ['a start more than a day ago', { start: '2026-02-28T07:00:00Z', end: '2026-02-28T07:30:00Z' }, 'body.start'],
    ['a start over two years ahead', { start: '2028-03-10T07:00:00Z', end: '2028-03-10T07:30:00Z' }, 'body.start'],
  ])('refuses %s with 400 naming the field', async (_, times, path) => {
    const res = await book(body(times.start, times.end));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path, message: expect.any(String) }]);
  });

  it.each([
    ['a time without an offset', { start: '2026-03-03T12:00:00' }, 'body.start'],
    ['a date only', { end: '2026-03-03' }, 'body.end'],
    ['an unknown field', { patientName: 'x' }, 'body'],
    ['a reason with control characters', { reason: 'a\u202eb' }, 'body.reason'],
    ['a malformed patient id', { patientId: 'not an id' }, 'body.patientId'],
  ])('refuses %s with 400', async (_, change, path) => {
    const res = await book({ ...body('12:00', '12:30'), ...change });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe(path);
  });

  it('answers 404 naming the field for a patient or room of another tenant, or none at all', async () => {
    const cases = [
      [{ patientId: otherClinic.patientIds[0] }, 'patient', 'body.patientId'],
      [{ patientId: '00000000-0000-4000-8000-000000000000' }, 'patient', 'body.patientId'],
      [{ roomId: otherClinic.roomIds[0] }, 'room', 'body.roomId'],
      [{ practitionerId: b.users.doctor.id }, 'practitioner', 'body.practitionerId'],
    ] as const;
    for (const [change, what, path] of cases) {
      const res = await book(body('13:00', '13:30', change));
      expect(res.statusCode, JSON.stringify(change)).toBe(404);
      expect(res.json().error).toMatchObject({ message: `${what} not found`, details: [{ path }] });
    }
    const list = await operator()({
      method: 'GET',
      url: '/api/v1/appointments?day=2026-03-03&practitionerId=' + b.users.doctor.id,
    });
    expect(list.json().data).toEqual([]);
  });

  it('refuses a practitioner who is not a doctor or a nurse', async () => {
    const res = await book(body('13:00', '13:30', { practitionerId: a.users.operator.id }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      message: 'the practitioner must be a doctor or a nurse',
      details: [{ path: 'body.practitionerId' }],
    });
  });

  it('refuses a deactivated room with 409', async () => {
    const res = await book(body('13:00', '13:30', { roomId: clinic.inactiveRoomId }));
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toContain('deactivated');
  });

  it('refuses an archived patient with 409, without naming them', async () => {
    // The patients module says whether a patient is archived, when it is there; here it is asked directly.
    const service = new AppointmentsService({
      uow: t.app.uow,
      now: () => now,
      member: (ctx, id) => t.app.users.member(ctx, id),
      patientState: async () => 'archived',
      room: async () => undefined,
      unit: async () => undefined,
    });
    const ctx = {
      requestId: 'test',
      user: { id: a.users.operator.id, email: a.users.operator.email, name: 'Test operator', platformAdmin: false },
      authMethod: 'bearer',
      sessionId: 'test',
      apiKeyId: null,
      client: { ip: null, userAgent: null },
      memberships: [{ organizationId: a.organizationId, role: 'operator' }],
      organizationId: a.organizationId,
      role: 'operator',
    } satisfies TenantContext;
    const input = body('13:00', '13:30', { patientId: clinic.archivedPatientId });
    await expect(
      service.book(ctx, { ...input, start: new Date(input.start), end: new Date(input.end) } as never),
    ).rejects.toMatchObject({ code: 'CONFLICT', message: 'the patient is archived: an appointment cannot be booked' });
  });

  it('refuses an archived patient through the route, when the patients module says so', async (test) => {
    if (!('patients' in t.app)) return test.skip('the patients module is not registered');
    const res = await book(body('13:00', '13:30', { patientId: clinic.archivedPatientId }));
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toBe('the patient is archived: an appointment cannot be booked');
  });

  it('is forbidden to a nurse and a doctor, naming appointments:schedule', async () => {
    for (const role of ['nurse', 'doctor'] as const) {
      const res = await book(body('14:00', '14:30'), a.users[role].token);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toBe(`the ${role} role lacks the appointments:schedule permission`);
    }
  });
});

describe('double booking', () => {
  it('is a 409 naming the appointment in the way (id and times, not the patient), for the practitioner and the room', async () => {
    const first = await bookOk(body('15:00', '15:30', { roomId: clinic.roomIds[1] }));
    const samePractitioner = await book(body('15:15', '15:45', { patientId: clinic.patientIds[1] }));
    expect(samePractitioner.statusCode).toBe(409);
    const error = samePractitioner.json().error;
    expect(error.message).toBe(
      `the practitioner is already booked from 2026-03-03T15:00:00.000Z to 2026-03-03T15:30:00.000Z (appointment ${first.id})`,
    );
    expect(error.details).toEqual([{ path: 'body.practitionerId', message: expect.stringContaining(first.id) }]);
    expect(samePractitioner.body).not.toContain(clinic.patientIds[0]);
    expect(samePractitioner.body).not.toContain('Zoë');

    const sameRoom = await book(
      body('15:29', '15:59', {
        practitionerId: a.users.nurse.id,
        roomId: clinic.roomIds[1],
        patientId: clinic.patientIds[1],
      }),
    );
    expect(sameRoom.statusCode).toBe(409);
    expect(sameRoom.json().error.message).toContain(`the room is already booked`);
    expect(sameRoom.json().error.details[0]).toMatchObject({ path: 'body.roomId' });
    expect(sameRoom.json().error.message).toContain(first.id);

    // Touching ends do not overlap.
    await bookOk(body('15:30', '16:00', { roomId: clinic.roomIds[1] }));
  });
});

describe('PATCH /api/v1/appointments/:id', () => {
  it('moves a booked appointment, also over its own old slot, and changes room and practitioner', async () => {
    const appointment = await bookOk(body('17:00', '17:30'));
    const call = operator();
    const moved = await call({
      method: 'PATCH',
      url: `/api/v1/appointments/${appointment.id}`,
      payload: { start: '2026-03-03T17:10:00Z', end: '2026-03-03T17:40:00Z', roomId: clinic.roomIds[0] },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({
      start: at('2026-03-03T17:10:00Z'),
      roomId: clinic.roomIds[0],
      hospitalId: clinic.hospitalId,
    });
    const handedOver = await call({
      method: 'PATCH',
      url: `/api/v1/appointments/${appointment.id}`,
      payload: { practitionerId: a.users.nurse.id, roomId: null },
    });
    expect(handedOver.json()).toMatchObject({
      practitionerId: a.users.nurse.id,
      roomId: null,
      hospitalId: null,
      start: at('2026-03-03T17:10:00Z'),
    });
    expect((await eventsFor(appointment.id)).map((e) => e.action)).toEqual([
      'appointments.book',
      'appointments.reschedule',
      'appointments.reschedule',
    ]);
  });

  it('refuses a move into a conflict with 409 naming the appointment in the way, and changes nothing', async () => {
    const first = await bookOk(body('18:00', '18:30', { roomId: clinic.roomIds[0] }));
    const second = await bookOk(body('19:00', '19:30', { practitionerId: a.users.nurse.id }));
    const call = operator();
    const intoPractitioner = await call({
      method: 'PATCH',
      url: `/api/v1/appointments/${second.id}`,
      payload: { practitionerId: a.users.doctor.id, start: '2026-03-03T18:20:00Z', end: '2026-03-03T18:50:00Z' },
    });
    expect(intoPractitioner.statusCode).toBe(409);
    expect(intoPractitioner.json().error.message).toContain(`appointment ${first.id}`);
    const intoRoom = await call({
      method: 'PATCH',
      url: `/api/v1/appointments/${second.id}`,
      payload: { roomId: clinic.roomIds[0], start: '2026-03-03T18:10:00Z', end: '2026-03-03T18:20:00Z' },
    });
    expect(intoRoom.statusCode).toBe(409);
    expect(intoRoom.json().error).toMatchObject({ details: [{ path: 'body.roomId' }] });
    const unchanged = await call({ method: 'GET', url: `/api/v1/appointments/${second.id}` });
    expect(unchanged.json()).toMatchObject({
      start: at('2026-03-03T19:00:00Z'),
      roomId: null,
      practitionerId: a.users.nurse.id,
    });
  });

  it('validates the body: start and end together, at least one field, the same time rules', async () => {
    const appointment = await bookOk(body('20:00', '20:30'));
    const call = operator();
    const url = `/api/v1/appointments/${appointment.id}`;
    for (const payload of [
      {},
      { start: '2026-03-03T20:10:00Z' },
      { start: '2026-03-03T21:00:00Z', end: '2026-03-03T20:00:00Z' },
    ]) {
      const res = await call({ method: 'PATCH', url, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const notPractitioner = await call({ method: 'PATCH', url, payload: { practitionerId: a.users.manager.id } });
    expect(notPractitioner.statusCode).toBe(400);
    const missingRoom = await call({ method: 'PATCH', url, payload: { roomId: otherClinic.roomIds[0] } });
    expect(missingRoom.statusCode).toBe(404);
    expect(missingRoom.json().error.message).toBe('room not found');
  });
});

describe('lists', () => {
  let ids: Record<string, string>;

  beforeAll(async () => {
    // 2026-03-04 in Paris runs from 2026-03-03T23:00Z to 2026-03-04T23:00Z.
    const [p0, p1, p2] = clinic.patientIds;
    const [r1, r2] = clinic.roomIds;
    const doctor = a.users.doctor.id;
    const nurse = a.users.nurse.id;
    const specs: Record<string, Record<string, unknown>> = {
      earlyParis: { start: '2026-03-03T23:30:00Z', end: '2026-03-03T23:50:00Z', roomId: r1, patientId: p1 },
      morning: { start: '2026-03-04T09:00:00Z', end: '2026-03-04T09:30:00Z', roomId: r2, patientId: p0 },
      sameStart: {
        start: '2026-03-04T09:00:00Z',
        end: '2026-03-04T09:30:00Z',
        roomId: r1,
        patientId: p2,
        practitionerId: nurse,
      },
      otherUnit: {
        start: '2026-03-04T10:00:00Z',
        end: '2026-03-04T10:30:00Z',
        roomId: clinic.otherRoomId,
        patientId: p1,
      },
      noRoom: { start: '2026-03-04T11:00:00Z', end: '2026-03-04T11:30:00Z', patientId: p1, practitionerId: nurse },
      lateUtc: { start: '2026-03-04T23:30:00Z', end: '2026-03-04T23:45:00Z', roomId: r1, patientId: p0 },
    };
    ids = {};
    for (const [name, spec] of Object.entries(specs)) {
      ids[name] = (await bookOk({ practitionerId: doctor, reason: 'Review', ...spec })).id;
    }
    await operator()({
      method: 'POST',
      url: `/api/v1/appointments/${ids.noRoom}/cancel`,
      payload: { reason: 'Unwell' },
    });
  });

  const list = async (query: string, token = a.users.operator.token) => {
    const res = await as(t.app, token)({ method: 'GET', url: `/api/v1/appointments?${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ data: { id: string }[]; nextCursor: string | null }>();
  };
  const names = (page: { data: { id: string }[] }) =>
    page.data.map((item) => Object.keys(ids).find((name) => ids[name] === item.id) ?? item.id);

  it('lists a UTC day sorted by start then id', async () => {
    const page = await list('day=2026-03-04');
    const tied = [ids.morning!, ids.sameStart!].sort().map((id) => names({ data: [{ id }] })[0]);
    expect(names(page)).toEqual([...tied, 'otherUnit', 'noRoom', 'lateUtc']);
  });

  it('filters by practitioner, patient, room, status and from/to', async () => {
    expect(names(await list(`day=2026-03-04&practitionerId=${a.users.nurse.id}`))).toEqual(['sameStart', 'noRoom']);
    expect(names(await list(`patientId=${clinic.patientIds[1]}&from=2026-03-03T23:00:00Z`))).toEqual([
      'earlyParis',
      'otherUnit',
      'noRoom',
    ]);
    expect(names(await list(`day=2026-03-04&roomId=${clinic.roomIds[0]}`))).toEqual(['sameStart', 'lateUtc']);
    expect(names(await list(`day=2026-03-04&status=cancelled`))).toEqual(['noRoom']);
    expect(names(await list('from=2026-03-04T10:00:00%2B00:00&to=2026-03-04T11:00:00Z'))).toEqual(['otherUnit']);
  });

  it('pages with limit and cursor without repeating or skipping', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`day=2026-03-04&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((item) => item.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual((await list('day=2026-03-04')).data.map((item) => item.id));
  });

  it('refuses a bad day, from after to, and a malformed cursor', async () => {
    for (const query of [
      'day=2026-02-30',
      'day=04/03/2026',
      'from=2026-03-04T10:00:00Z&to=2026-03-04T09:00:00Z',
      'cursor=abc',
      'status=done',
    ]) {
      const res = await operator()({ method: 'GET', url: `/api/v1/appointments?${query}` });
      expect(res.statusCode, query).toBe(400);
    }
  });

  it('records one read event per appointment listed, naming its patient', async () => {
    const res = await operator()({
      method: 'GET',
      url: `/api/v1/appointments?day=2026-03-04&patientId=${clinic.patientIds[0]}`,
    });
    const requestId = res.headers['x-request-id'] as string;
    const events = await t.database.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId));
    expect(events.map((e) => [e.action, e.resourceId, e.patientId]).sort()).toEqual(
      [ids.morning!, ids.lateUtc!].map((id) => ['appointments.list', id, clinic.patientIds[0]]).sort(),
    );
  });

  it("shows a unit's day in its hospital's time zone, its rooms only", async () => {
    const res = await as(
      t.app,
      a.users.nurse.token,
    )({ method: 'GET', url: `/api/v1/units/${clinic.unitId}/appointments?day=2026-03-04` });
    expect(res.statusCode).toBe(200);
    const tied = [ids.morning!, ids.sameStart!].sort().map((id) => names({ data: [{ id }] })[0]);
    expect(names(res.json())).toEqual(['earlyParis', ...tied]);
    const other = await operator()({
      method: 'GET',
      url: `/api/v1/units/${clinic.otherUnitId}/appointments?day=2026-03-04`,
    });
    expect(names(other.json())).toEqual(['otherUnit']);
  });

  it('answers 404 for a unit of another tenant and 400 without a day', async () => {
    const foreign = await operator()({
      method: 'GET',
      url: `/api/v1/units/${otherClinic.unitId}/appointments?day=2026-03-04`,
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.message).toBe('unit not found');
    const noDay = await operator()({ method: 'GET', url: `/api/v1/units/${clinic.unitId}/appointments` });
    expect(noDay.statusCode).toBe(400);
  });

  it("never shows another tenant's appointments", async () => {
    const page = await list('day=2026-03-04', b.users.operator.token);
    expect(page.data).toEqual([]);
  });

  it('is forbidden to an admin, who reads no clinical record', async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/appointments' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('appointments:read');
  });
});

describe('GET /api/v1/appointments/:id', () => {
  it('answers the appointment and records the read with its patient', async () => {
    const appointment = await bookOk(body('21:00', '21:30'));
    const res = await as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/appointments/${appointment.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: appointment.id, status: 'booked' });
    const events = await eventsFor(appointment.id);
    expect(events.find((e) => e.action === 'appointments.read')).toMatchObject({
      patientId: clinic.patientIds[0],
      actorId: a.users.doctor.id,
    });
  });

  it('answers 404 to another tenant, on every route that names the appointment', async () => {
    const appointment = await bookOk(body('21:30', '22:00'));
    const call = as(t.app, b.users.operator.token);
    const url = `/api/v1/appointments/${appointment.id}`;
    const attempts = [
      { method: 'GET', url },
      { method: 'PATCH', url, payload: { start: '2026-03-03T22:00:00Z', end: '2026-03-03T22:30:00Z' } },
      { method: 'POST', url: `${url}/cancel`, payload: { reason: 'x' } },
      ...['check-in', 'start', 'complete', 'no-show'].map((action) => ({ method: 'POST', url: `${url}/${action}` })),
    ] as const;
    for (const attempt of attempts) {
      const res = await call(attempt);
      expect(res.statusCode, `${attempt.method} ${attempt.url}`).toBe(404);
      expect(res.json().error.message).toBe('appointment not found');
    }
    const still = await operator()({ method: 'GET', url });
    expect(still.json().status).toBe('booked');
  });
});

describe('app.appointments.isTreating', () => {
  it("says whether the caller is the practitioner of one of the patient's appointments", async () => {
    const patientId = clinic.patientIds[2]!;
    await bookOk(body('22:00', '22:30', { patientId, practitionerId: a.users.nurse.id }));
    const ctxOf = (role: 'nurse' | 'doctor') =>
      ({
        requestId: 'test',
        user: { id: a.users[role].id, email: a.users[role].email, name: role, platformAdmin: false },
        authMethod: 'bearer',
        sessionId: 'test',
        apiKeyId: null,
        client: { ip: null, userAgent: null },
        memberships: [{ organizationId: a.organizationId, role }],
        organizationId: a.organizationId,
        role,
      }) satisfies TenantContext;
    expect(await t.app.appointments.isTreating(ctxOf('nurse'), patientId)).toBe(true);
    expect(await t.app.appointments.isTreating(ctxOf('nurse'), clinic.archivedPatientId)).toBe(false);
    // In another organization the same patient id means nothing.
    const foreign = { ...ctxOf('nurse'), organizationId: b.organizationId };
    expect(await t.app.appointments.isTreating(foreign, patientId)).toBe(false);
  });
});
