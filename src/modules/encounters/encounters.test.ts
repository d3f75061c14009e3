import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { insertAppointment, insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, type Tenant, createTenant, type TestApp } from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const call = (role: Role, tenant: Tenant = a) => as(t.app, tenant.users[role].token);

async function open(payload: Record<string, unknown>, tenant: Tenant = a) {
  const res = await call('doctor', tenant)({ method: 'POST', url: '/api/v1/encounters', payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; patientId: string; status: string }>();
}

async function auditActions(patientId: string): Promise<string[]> {
  const res = await call('admin')({ method: 'GET', url: `/api/v1/audit-events?patientId=${patientId}&limit=100` });
  expect(res.statusCode).toBe(200);
  return res.json<{ data: { action: string }[] }>().data.map((event) => event.action);
}

function contextOf(tenant: Tenant, role: Role): TenantContext {
  return {
    requestId: 'test',
    user: { id: tenant.users[role].id, email: tenant.users[role].email, name: role, platformAdmin: false },
    authMethod: 'bearer',
    sessionId: 'test',
    apiKeyId: null,
    client: { ip: null, userAgent: null },
    memberships: [{ organizationId: tenant.organizationId, role }],
    organizationId: tenant.organizationId,
    role,
  };
}

describe('POST /api/v1/encounters', () => {
  it('opens a walk-in encounter for the calling doctor, audited with the patient', async () => {
    const patientId = await insertPatient(t.app, a);
    const encounter = await open({ patientId });
    expect(encounter).toMatchObject({
      patientId,
      appointmentId: null,
      status: 'open',
      openedBy: a.users.doctor.id,
      signedAt: null,
    });
    expect(await auditActions(patientId)).toContain('encounters.open');
  });

  it('opens an encounter from a checked-in or in-progress appointment', async () => {
    for (const status of ['checked-in', 'in-progress']) {
      const patientId = await insertPatient(t.app, a);
      const appointmentId = await insertAppointment(t.app, a, patientId, status);
      const encounter = await open({ patientId, appointmentId });
      expect(encounter).toMatchObject({ patientId, appointmentId, status: 'open' });
      // The visit has begun: a checked-in appointment is now in progress.
      const appointment = await call('doctor')({ method: 'GET', url: `/api/v1/appointments/${appointmentId}` });
      expect(appointment.json().status).toBe('in-progress');
    }
  });

  it('refuses an appointment that is only booked (409, naming its state) or cancelled', async () => {
    for (const status of ['booked', 'cancelled', 'completed']) {
      const patientId = await insertPatient(t.app, a);
      const appointmentId = await insertAppointment(t.app, a, patientId, status);
      const res = await call('doctor')({
        method: 'POST',
        url: '/api/v1/encounters',
        payload: { patientId, appointmentId },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.message).toContain(`the appointment is ${status}`);
    }
  });

  it('opens one encounter per appointment: a second is 409', async () => {
    const patientId = await insertPatient(t.app, a);
    const appointmentId = await insertAppointment(t.app, a, patientId, 'checked-in');
    await open({ patientId, appointmentId });
    const again = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId, appointmentId },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toBe('this appointment already has an encounter');
  });

  it("refuses another patient's appointment (400) and an unknown one (404)", async () => {
    const patientId = await insertPatient(t.app, a);
    const otherPatient = await insertPatient(t.app, a);
    const appointmentId = await insertAppointment(t.app, a, otherPatient, 'checked-in');
    const mismatch = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId, appointmentId },
    });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.details[0].path).toBe('body.appointmentId');
    const unknown = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId, appointmentId: 'no-such-appointment' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toBe('appointment not found');
  });

  it('answers 404 naming the field for an unknown patient or hospital', async () => {
    const patient = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: 'nobody' },
    });
    expect(patient.statusCode).toBe(404);
    expect(patient.json().error).toMatchObject({ message: 'patient not found', details: [{ path: 'body.patientId' }] });
    const patientId = await insertPatient(t.app, a);
    const hospital = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId, hospitalId: 'nowhere' },
    });
    expect(hospital.statusCode).toBe(404);
    expect(hospital.json().error.details[0].path).toBe('body.hospitalId');
  });

  it('refuses an archived patient (409)', async () => {
    const patientId = await insertPatient(t.app, a, 'archived');
    const res = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toBe('the patient is archived: an encounter cannot be opened');
  });

  it("treats another tenant's patient and appointment as unknown (404)", async () => {
    const theirs = await insertPatient(t.app, b);
    const appointmentId = await insertAppointment(t.app, b, theirs, 'checked-in');
    const patient = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId: theirs } });
    expect(patient.statusCode).toBe(404);
    const appointment = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: theirs, appointmentId },
    });
    expect(appointment.statusCode).toBe(404);
  });

  it('is refused to a nurse with 403 naming encounters:open, and refuses unknown fields', async () => {
    const patientId = await insertPatient(t.app, a);
    const nurse = await call('nurse')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    expect(nurse.statusCode).toBe(403);
    expect(nurse.json().error.message).toBe('the nurse role lacks the encounters:open permission');
    const extra = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId, ward: 3 } });
    expect(extra.statusCode).toBe(400);
  });
});

describe('GET /api/v1/encounters and /api/v1/encounters/:id', () => {
  it('reads one encounter with its notes, diagnoses and vitals, audited with the patient', async () => {
    const patientId = await insertPatient(t.app, a);
    const { id } = await open({ patientId });
    await call('nurse')({ method: 'POST', url: `/api/v1/encounters/${id}/notes`, payload: { body: 'Arrived.' } });
    await call('doctor')({
      method: 'POST',
      url: `/api/v1/encounters/${id}/diagnoses`,
      payload: { code: 'j45.909', text: 'Asthma', primary: true },
    });
    await call('nurse')({
      method: 'POST',
      url: `/api/v1/encounters/${id}/vitals`,
      payload: { type: 'heart-rate', value: 72, unit: 'bpm' },
    });
    for (const role of ['doctor', 'nurse', 'manager'] as const) {
      const res = await call(role)({ method: 'GET', url: `/api/v1/encounters/${id}` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id,
        patientId,
        notes: [{ body: 'Arrived.', version: 1, authorId: a.users.nurse.id }],
        diagnoses: [{ code: 'J45.909', primary: true }],
        vitals: [{ type: 'heart-rate', value: 72, unit: 'bpm' }],
      });
    }
    expect(await auditActions(patientId)).toContain('encounters.read');
    const operator = await call('operator')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(operator.statusCode).toBe(403);
    expect(operator.json().error.message).toContain('encounters:read');
  });

  it('answers 404 for an unknown id', async () => {
    const res = await call('doctor')({ method: 'GET', url: '/api/v1/encounters/unknown-id' });
    expect(res.statusCode).toBe(404);
  });

  it('lists by patient and status, a page at a time, auditing each patient seen', async () => {
    const patientId = await insertPatient(t.app, a);
    const first = await open({ patientId });
    const second = await open({ patientId });
    await call('doctor')({ method: 'POST', url: `/api/v1/encounters/${second.id}/sign` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `patientId=${patientId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call('nurse')({ method: 'GET', url: `/api/v1/encounters?${query}` });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((e: { id: string }) => e.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([first.id, second.id].sort());
    const open_ = await call('nurse')({ method: 'GET', url: `/api/v1/encounters?patientId=${patientId}&status=open` });
    expect(open_.json().data.map((e: { id: string }) => e.id)).toEqual([first.id]);
    const signed = await call('nurse')({
      method: 'GET',
      url: `/api/v1/encounters?patientId=${patientId}&status=signed`,
    });
    expect(signed.json().data).toMatchObject([{ id: second.id, status: 'signed', signedBy: a.users.doctor.id }]);
    expect(await auditActions(patientId)).toContain('encounters.list');
    const bad = await call('nurse')({ method: 'GET', url: '/api/v1/encounters?status=closed' });
    expect(bad.statusCode).toBe(400);
  });
});

describe("a patient's encounters and vitals", () => {
  it('lists the encounters of one patient, and vitals across them by type, a page at a time', async () => {
    const patientId = await insertPatient(t.app, a);
    const first = await open({ patientId });
    const second = await open({ patientId });
    const vitals = [
      [first.id, { type: 'heart-rate', value: 80, unit: 'bpm', recordedAt: '2026-02-01T08:00:00Z' }],
      [first.id, { type: 'spo2', value: 95, unit: '%', recordedAt: '2026-02-01T08:01:00Z' }],
      [second.id, { type: 'heart-rate', value: 70, unit: 'bpm', recordedAt: '2026-02-02T08:00:00Z' }],
      [second.id, { type: 'heart-rate', value: 66, unit: 'bpm', recordedAt: '2026-02-03T08:00:00Z' }],
    ] as const;
    for (const [id, payload] of vitals) {
      const res = await call('nurse')({ method: 'POST', url: `/api/v1/encounters/${id}/vitals`, payload });
      expect(res.statusCode).toBe(201);
    }
    const encounters = await call('nurse')({ method: 'GET', url: `/api/v1/patients/${patientId}/encounters` });
    expect(encounters.statusCode).toBe(200);
    expect(
      encounters
        .json()
        .data.map((e: { id: string }) => e.id)
        .sort(),
    ).toEqual([first.id, second.id].sort());

    const values: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `type=heart-rate&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call('manager')({ method: 'GET', url: `/api/v1/patients/${patientId}/vitals?${query}` });
      expect(res.statusCode).toBe(200);
      values.push(...res.json().data.map((v: { value: number }) => v.value));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(values).toEqual([80, 70, 66]);
    const all = await call('doctor')({ method: 'GET', url: `/api/v1/patients/${patientId}/vitals` });
    expect(all.json().data).toHaveLength(4);
    expect(await auditActions(patientId)).toContain('vitals.list');
    const badType = await call('doctor')({ method: 'GET', url: `/api/v1/patients/${patientId}/vitals?type=glucose` });
    expect(badType.statusCode).toBe(400);
  });

  it('answers 404 for an unknown patient', async () => {
    for (const path of ['encounters', 'vitals']) {
      const res = await call('doctor')({ method: 'GET', url: `/api/v1/patients/no-such-patient/${path}` });
      expect(res.statusCode).toBe(404);
    }
  });
});

describe('POST /api/v1/encounters/:id/sign', () => {
  it('signs the encounter and its notes; afterwards notes, diagnoses and vitals are 409', async () => {
    const patientId = await insertPatient(t.app, a);
    const { id } = await open({ patientId });
    const note = await call('nurse')({
      method: 'POST',
      url: `/api/v1/encounters/${id}/notes`,
      payload: { body: 'Obs.' },
    });
    const nurse = await call('nurse')({ method: 'POST', url: `/api/v1/encounters/${id}/sign` });
    expect(nurse.statusCode).toBe(403);
    expect(nurse.json().error.message).toContain('encounters:sign');

    const signed = await call('doctor')({ method: 'POST', url: `/api/v1/encounters/${id}/sign` });
    expect(signed.statusCode).toBe(200);
    expect(signed.json()).toMatchObject({ status: 'signed', signedBy: a.users.doctor.id });
    const detail = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(detail.json().notes[0]).toMatchObject({ id: note.json().id, signedBy: a.users.doctor.id });

    const writes = [
      { role: 'nurse' as const, url: `/api/v1/encounters/${id}/notes`, payload: { body: 'Late entry.' } },
      { role: 'doctor' as const, url: `/api/v1/encounters/${id}/diagnoses`, payload: { code: 'R05', text: 'Cough' } },
      {
        role: 'nurse' as const,
        url: `/api/v1/encounters/${id}/vitals`,
        payload: { type: 'spo2', value: 97, unit: '%' },
      },
      { role: 'doctor' as const, url: `/api/v1/notes/${note.json().id}/amend`, payload: { body: 'x', reason: 'late' } },
      { role: 'doctor' as const, url: `/api/v1/encounters/${id}/sign` },
    ];
    for (const { role, url, payload } of writes) {
      const res = await call(role)({ method: 'POST', url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, url).toBe(409);
    }
    const after = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(after.json()).toMatchObject({ notes: [{ version: 1 }], diagnoses: [], vitals: [] });
    const actions = await auditActions(patientId);
    expect(actions).toEqual(expect.arrayContaining(['encounters.sign', 'notes.sign', 'notes.create']));
  });
});

describe('the service other modules use', () => {
  it('get returns an encounter of the organization, or undefined', async () => {
    const patientId = await insertPatient(t.app, a);
    const { id } = await open({ patientId });
    expect(await t.app.encounters.get(contextOf(a, 'nurse'), id)).toMatchObject({ id, patientId, status: 'open' });
    expect(await t.app.encounters.get(contextOf(b, 'doctor'), id)).toBeUndefined();
  });

  it('isTreating: whether the caller opened an encounter for the patient', async () => {
    const patientId = await insertPatient(t.app, a);
    expect(await t.app.encounters.isTreating(contextOf(a, 'doctor'), patientId)).toBe(false);
    await open({ patientId });
    expect(await t.app.encounters.isTreating(contextOf(a, 'doctor'), patientId)).toBe(true);
    expect(await t.app.encounters.isTreating(contextOf(a, 'nurse'), patientId)).toBe(false);
    expect(await t.app.encounters.isTreating(contextOf(b, 'doctor'), patientId)).toBe(false);
  });
});

describe('another tenant', () => {
  it('gets 404 on every route that names a record of A, and changes nothing', async () => {
    const patientId = await insertPatient(t.app, a);
    const { id } = await open({ patientId });
    const note = await call('doctor')({
      method: 'POST',
      url: `/api/v1/encounters/${id}/notes`,
      payload: { body: 'Mine.' },
    });
    const noteId = note.json().id as string;
    const routes = [
      { method: 'GET' as const, url: `/api/v1/encounters/${id}` },
      { method: 'POST' as const, url: `/api/v1/encounters/${id}/notes`, payload: { body: 'B was here' } },
      { method: 'POST' as const, url: `/api/v1/encounters/${id}/diagnoses`, payload: { code: 'R05', text: 'Cough' } },
      {
        method: 'POST' as const,
        url: `/api/v1/encounters/${id}/vitals`,
        payload: { type: 'temperature', value: 400, unit: '°C' },
      },
      { method: 'GET' as const, url: `/api/v1/notes/${noteId}` },
      { method: 'GET' as const, url: `/api/v1/notes/${noteId}/versions` },
      { method: 'POST' as const, url: `/api/v1/notes/${noteId}/amend`, payload: { body: 'B', reason: 'B' } },
      { method: 'POST' as const, url: `/api/v1/notes/${noteId}/sign` },
      { method: 'POST' as const, url: `/api/v1/encounters/${id}/sign` },
    ];
    for (const route of routes) {
      const res = await call('doctor', b)(route);
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(404);
      expect(res.body).not.toContain(patientId);
    }
    for (const path of ['encounters', 'vitals']) {
      const res = await call('doctor', b)({ method: 'GET', url: `/api/v1/patients/${patientId}/${path}` });
      expect(res.statusCode, path).toBe(404);
    }
    const list = await call('doctor', b)({ method: 'GET', url: `/api/v1/encounters?patientId=${patientId}` });
    expect(list.json()).toEqual({ data: [], nextCursor: null });
    const opened = await call('doctor', b)({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    expect(opened.statusCode).toBe(404);
    const detail = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(detail.json()).toMatchObject({ status: 'open', notes: [{ body: 'Mine.', version: 1, signedAt: null }] });
    expect(detail.json()).toMatchObject({ diagnoses: [], vitals: [] });
  });
});
