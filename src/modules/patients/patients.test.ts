import { randomUUID } from 'node:crypto';
import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { organizationCounters } from '../../platform/db/counters.schema.js';
import type { Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { appointments } from '../appointments/appointments.schema.js';
import { encounters } from '../encounters/encounters.schema.js';
import { hospitals } from '../hospitals/hospitals.schema.js';
import { patients } from './patients.schema.js';
import { PatientsService } from './patients.service.js';

// The app clock, moved by hand: audit events get distinct, ordered times.
let clock = new Date();
const tick = () => {
  clock = new Date(clock.getTime() + 1000);
};

let t: TestApp;
let a: Tenant;
let b: Tenant;

const call = (tenant: Tenant, role: Role) => as(t.app, tenant.users[role].token);
const valid = { givenName: 'Ada', familyName: 'Lovelace', birthDate: '1985-12-10', sex: 'female' };

async function create(tenant: Tenant, body: object = valid) {
  const res = await call(tenant, 'operator')({ method: 'POST', url: '/api/v1/patients', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; mrn: string; status: string }>();
}

/** A service-level caller: what the tenancy plugin builds for a request. */
function contextOf(tenant: Tenant, role: Role): TenantContext {
  const user = tenant.users[role];
  return {
    requestId: 'test',
    user: { id: user.id, email: user.email, name: role, platformAdmin: false },
    authMethod: 'bearer',
    sessionId: 'test',
    apiKeyId: null,
    client: { ip: null, userAgent: null },
    memberships: [{ organizationId: tenant.organizationId, role }],
    organizationId: tenant.organizationId,
    role,
  };
}

async function patientCount(tenant: Tenant): Promise<number> {
  const [row] = await t.database.db
    .select({ n: count() })
    .from(patients)
    .where(eq(patients.organizationId, tenant.organizationId));
  return row!.n;
}

beforeAll(async () => {
  t = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '1000' }, { now: () => clock });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

describe('POST /api/v1/patients', () => {
  it('registers a patient with every field and a generated MRN, and records it', async () => {
    const [hospital] = await t.database.db
      .insert(hospitals)
      .values({ organizationId: a.organizationId, name: 'General' })
      .returning();
    const body = {
      ...valid,
      phone: '+44 20 7946 0000',
      email: 'ada@example.test',
      address: { line1: '12 St James Sq', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
      emergencyContact: { name: 'Mary Somerville', relationship: 'friend', phone: '+44 20 7946 0001' },
      allergies: [{ substance: 'Penicillin', reaction: 'hives', severity: 'severe' }, { substance: 'Latex' }],
      primaryHospitalId: hospital!.id,
    };
    const res = await call(a, 'doctor')({ method: 'POST', url: '/api/v1/patients', payload: body });
    expect(res.statusCode).toBe(201);
    const patient = res.json();
    expect(patient).toMatchObject({ ...body, status: 'active' });
    expect(patient.mrn).toMatch(/^MRN-\d{6}$/);
    const [event] = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'patients.create'), eq(auditEvents.resourceId, patient.id)));
    expect(event).toMatchObject({
      patientId: patient.id,
      actorId: a.users.doctor.id,
      organizationId: a.organizationId,
    });
  });

  it('stores absent details as SQL NULL and given ones as JSON objects, not as JSON text or JSON null', async () => {
    const bare = await create(a);
    const full = await create(a, {
      ...valid,
      address: { line1: '1 Main St', city: 'Leeds', country: 'GB' },
      emergencyContact: { name: 'Sam Smith', phone: '+44 113 496 0000' },
      allergies: [{ substance: 'Latex' }],
    });
    const result: unknown = await t.database.db.execute(sql`
      select id, address is null as "noAddress", emergency_contact is null as "noContact",
        jsonb_typeof(address) as "addressType", jsonb_typeof(emergency_contact) as "contactType",
        jsonb_typeof(allergies) as "allergiesType"
      from patients where id in (${bare.id}, ${full.id})`);
    const rows = (result as { rows: Record<string, unknown>[] }).rows;
    expect(rows.find((row) => row.id === bare.id)).toMatchObject({
      noAddress: true,
      noContact: true,
      allergiesType: 'array',
    });
    expect(rows.find((row) => row.id === full.id)).toMatchObject({
      noAddress: false,
      addressType: 'object',
      contactType: 'object',
      allergiesType: 'array',
    });
  });

  it('generates consecutive MRNs, skipping one already given by hand', async () => {
    const first = await create(a);
    const n = Number(first.mrn.slice(4));
    const second = await create(a);
    expect(second.mrn).toBe(`MRN-${String(n + 1).padStart(6, '0')}`);
    const taken = `MRN-${String(n + 2).padStart(6, '0')}`;
    expect((await create(a, { ...valid, mrn: taken })).mrn).toBe(taken);
    expect((await create(a)).mrn).toBe(`MRN-${String(n + 3).padStart(6, '0')}`);
  });

  it('hands out distinct consecutive MRNs to concurrent registrations', async () => {
    const tenant = await createTenant(t.app);
    const created = await Promise.all(Array.from({ length: 8 }, () => create(tenant)));
    const numbers = created.map((p) => Number(p.mrn.slice(4))).sort((x, y) => x - y);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('takes MRNs from the counter a block at a time, one statement per 20 registrations', async () => {
    const tenant = await createTenant(t.app);
    const counterValue = async () => {
      const [row] = await t.database.db
        .select({ value: organizationCounters.value })
        .from(organizationCounters)
        .where(
          and(eq(organizationCounters.organizationId, tenant.organizationId), eq(organizationCounters.name, 'mrn')),
        );
      return row?.value;
    };
    for (let i = 0; i < 3; i++) await create(tenant);
    expect(await counterValue()).toBe(20);
    for (let i = 0; i < 18; i++) await create(tenant);
    expect((await create(tenant)).mrn).toBe('MRN-000022');
    expect(await counterValue()).toBe(40);
  });

  it('leaves the MRN of a registration that failed unused, as a sequence does', async () => {
    const tenant = await createTenant(t.app);
    expect((await create(tenant)).mrn).toBe('MRN-000001');
    const refused = await call(
      tenant,
      'operator',
    )({ method: 'POST', url: '/api/v1/patients', payload: { ...valid, primaryHospitalId: randomUUID() } });
    expect(refused.statusCode).toBe(404);
    expect((await create(tenant)).mrn).toBe('MRN-000003');
  });

  it('keeps a given MRN, refuses it twice in one organization with 409, allows it in another', async () => {
    expect((await create(a, { ...valid, mrn: ' H-0042 ' })).mrn).toBe('H-0042');
    const before = await patientCount(a);
    const again = await call(
      a,
      'operator',
    )({ method: 'POST', url: '/api/v1/patients', payload: { ...valid, mrn: 'H-0042' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
    expect(again.body).not.toMatch(/Lovelace|1985/);
    expect(await patientCount(a)).toBe(before);
    expect((await create(b, { ...valid, mrn: 'H-0042' })).mrn).toBe('H-0042');
  });

  it('refuses bad input with 400 naming the field, without echoing it, and stores nothing', async () => {
    const today = clock.toISOString().slice(0, 10);
    const farFuture = new Date(clock.getTime() + 3 * 86_400_000).toISOString().slice(0, 10);
    const cases: [object, string][] = [
      [{ ...valid, birthDate: '2023-02-29' }, 'body.birthDate'],
      [{ ...valid, birthDate: '1985-13-01' }, 'body.birthDate'],
      [{ ...valid, birthDate: '10/12/1985' }, 'body.birthDate'],
      [{ ...valid, birthDate: '1899-12-31' }, 'body.birthDate'],
      [{ ...valid, birthDate: farFuture }, 'body.birthDate'],
      [{ ...valid, sex: 'robot' }, 'body.sex'],
      [{ ...valid, givenName: 'Ada\u0000' }, 'body.givenName'],
      [{ ...valid, familyName: 'Love\nlace' }, 'body.familyName'],
      [{ ...valid, familyName: '\u202eecalevoL' }, 'body.familyName'],
      [{ ...valid, givenName: '   ' }, 'body.givenName'],
      [{ ...valid, givenName: 'x'.repeat(101) }, 'body.givenName'],
      [{ ...valid, phone: 'call me' }, 'body.phone'],
      [{ ...valid, email: 'not-an-email' }, 'body.email'],
      [{ ...valid, mrn: 'has space' }, 'body.mrn'],
      [{ ...valid, allergies: [{ substance: 'Nuts', severity: 'deadly' }] }, 'body.allergies.0.severity'],
      [{ ...valid, address: { line1: 'x', city: 'y' } }, 'body.address.country'],
      [{ givenName: 'Ada', birthDate: '1985-12-10', sex: 'female' }, 'body.familyName'],
    ];
    const before = await patientCount(a);
    for (const [body, path] of cases) {
      const res = await call(a, 'operator')({ method: 'POST', url: '/api/v1/patients', payload: body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(res.body).not.toMatch(/Lovelace|ecalevoL|1985-12-10/);
    }
    const unknownKey = await call(
      a,
      'operator',
    )({
      method: 'POST',
      url: '/api/v1/patients',
      payload: { ...valid, ssn: '123' },
    });
    expect(unknownKey.statusCode).toBe(400);
    expect(await patientCount(a)).toBe(before);
    // Today is not the future (nor is it anywhere on Earth yet, for tomorrow's date in UTC+14).
    expect((await create(a, { ...valid, birthDate: today })).status).toBe('active');
  });

  it("answers 404 for a primary hospital that is not the organization's", async () => {
    const [theirs] = await t.database.db
      .insert(hospitals)
      .values({ organizationId: b.organizationId, name: 'Elsewhere' })
      .returning();
    const res = await call(
      a,
      'operator',
    )({
      method: 'POST',
      url: '/api/v1/patients',
      payload: { ...valid, primaryHospitalId: theirs!.id },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details[0].path).toBe('body.primaryHospitalId');
  });

  it('is forbidden to a nurse, a manager and an admin, naming the permission', async () => {
    for (const role of ['nurse', 'manager', 'admin'] as const) {
      const res = await call(a, role)({ method: 'POST', url: '/api/v1/patients', payload: valid });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toContain('patients:create');
    }
  });
});

describe('GET and PATCH /api/v1/patients/:id', () => {
  it('reads a patient, recording the read with its patient id', async () => {
    const { id } = await create(a);
    const res = await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients/${id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, familyName: 'Lovelace', birthDate: '1985-12-10', allergies: [] });
    const events = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'patients.read'), eq(auditEvents.patientId, id)));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: a.users.nurse.id, resourceId: id });
  });

  it('changes details, refolds the name for search, and clears a field with null', async () => {
    const { id } = await create(a, { ...valid, phone: '555 0100', email: 'a@example.test' });
    const res = await call(
      a,
      'operator',
    )({
      method: 'PATCH',
      url: `/api/v1/patients/${id}`,
      payload: { familyName: 'Byron-Kïng', phone: '+1 (555) 0199', email: null },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ familyName: 'Byron-Kïng', phone: '+1 (555) 0199', email: null });
    const found = await call(a, 'operator')({ method: 'GET', url: '/api/v1/patients?q=byron-king&phone=15550199' });
    expect(found.json().data.map((p: { id: string }) => p.id)).toEqual([id]);
  });

  it('refuses an empty patch, an MRN change and a future birth date', async () => {
    const { id } = await create(a);
    for (const payload of [{}, { mrn: 'X-1' }, { birthDate: '2999-01-01' }, { sex: null }]) {
      const res = await call(a, 'operator')({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('answers 404 for an unknown id, and 400 for a malformed one', async () => {
    expect((await call(a, 'nurse')({ method: 'GET', url: '/api/v1/patients/no-such-patient' })).statusCode).toBe(404);
    expect((await call(a, 'nurse')({ method: 'GET', url: '/api/v1/patients/a%20b' })).statusCode).toBe(400);
  });

  it('is forbidden to a nurse to change', async () => {
    const { id } = await create(a);
    const res = await call(a, 'nurse')({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { sex: 'male' } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('patients:update');
  });
});

describe('archiving', () => {
  it('archives instead of deleting: gone from default lists and lookups, listed with status=archived', async () => {
    const { id, mrn } = await create(a, { ...valid, familyName: 'Archivable' });
    const archived = await call(a, 'operator')({ method: 'POST', url: `/api/v1/patients/${id}/archive` });
    expect(archived.statusCode).toBe(200);
    expect(archived.json().status).toBe('archived');

    const ids = async (query: string) =>
      (await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients?${query}` }))
        .json()
        .data.map((p: { id: string }) => p.id);
    expect(await ids('q=archivable')).toEqual([]);
    expect(await ids('q=archivable&status=archived')).toEqual([id]);
    expect(await ids('status=archived')).toContain(id);
    expect((await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients/lookup?mrn=${mrn}` })).statusCode).toBe(404);
    // Still readable by id: clinical records keep pointing at it.
    expect((await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients/${id}` })).json().status).toBe('archived');
    expect(await t.app.patients.exists(contextOf(a, 'nurse'), id)).toBe(true);
    expect(await t.app.patients.exists(contextOf(a, 'nurse'), id, { activeOnly: true })).toBe(false);
    expect(await t.app.patients.exists(contextOf(b, 'nurse'), id)).toBe(false);

    const twice = await call(a, 'manager')({ method: 'POST', url: `/api/v1/patients/${id}/archive` });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.message).toContain('archived');
    const patch = await call(
      a,
      'operator',
    )({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { sex: 'other' } });
    expect(patch.statusCode).toBe(409);

    const back = await call(a, 'manager')({ method: 'POST', url: `/api/v1/patients/${id}/unarchive` });
    expect(back.json().status).toBe('active');
    expect(await ids('q=archivable')).toEqual([id]);
    const again = await call(a, 'manager')({ method: 'POST', url: `/api/v1/patients/${id}/unarchive` });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toContain('active');
  });

  it('is forbidden to a doctor and a nurse', async () => {
    const { id } = await create(a);
    for (const role of ['doctor', 'nurse'] as const) {
      const res = await call(a, role)({ method: 'POST', url: `/api/v1/patients/${id}/archive` });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toContain('patients:archive');
    }
  });
});

describe('GET /api/v1/patients/:id/access-log', () => {
  interface Entry {
    action: string;
    actorId: string;
    actorRole: string;
    occurredAt: string;
  }

  it('shows admins and managers who read and changed the record, newest first, and is audited itself', async () => {
    tick();
    const { id } = await create(a, { ...valid, familyName: 'Logged' });
    tick();
    await call(a, 'doctor')({ method: 'GET', url: `/api/v1/patients/${id}` });
    tick();
    await call(a, 'nurse')({ method: 'GET', url: '/api/v1/patients?q=logged' });
    tick();
    await call(a, 'operator')({ method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { sex: 'unknown' } });
    tick();

    const res = await call(a, 'admin')({ method: 'GET', url: `/api/v1/patients/${id}/access-log` });
    expect(res.statusCode).toBe(200);
    const entries: Entry[] = res.json().data;
    expect(entries.map((e) => [e.action, e.actorId, e.actorRole])).toEqual([
      ['patients.update', a.users.operator.id, 'operator'],
      ['patients.list', a.users.nurse.id, 'nurse'],
      ['patients.read', a.users.doctor.id, 'doctor'],
      ['patients.create', a.users.operator.id, 'operator'],
    ]);
    tick();

    // Paged, and the admin's reading is now on it too.
    const first = await call(a, 'manager')({ method: 'GET', url: `/api/v1/patients/${id}/access-log?limit=2` });
    expect(first.json().data.map((e: Entry) => e.action)).toEqual(['patients.access-log', 'patients.update']);
    const cursor = first.json().nextCursor;
    const second = await call(
      a,
      'manager',
    )({
      method: 'GET',
      url: `/api/v1/patients/${id}/access-log?limit=2&cursor=${cursor}`,
    });
    expect(second.json().data.map((e: Entry) => e.action)).toEqual(['patients.list', 'patients.read']);
  });

  it('is forbidden to a nurse (no permission) and to a doctor who does not treat the patient', async () => {
    const { id } = await create(a);
    const nurse = await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients/${id}/access-log` });
    expect(nurse.statusCode).toBe(403);
    expect(nurse.json().error.message).toContain('patients:access-log');
    const doctor = await call(a, 'doctor')({ method: 'GET', url: `/api/v1/patients/${id}/access-log` });
    expect(doctor.statusCode).toBe(403);
    expect(doctor.json().error.message).toContain('treating doctor');
  });

  it('is shown to the doctor of an appointment or an encounter of the patient, and to no other doctor', async () => {
    const other = await createTenant(t.app);
    const byAppointment = await create(a);
    const byEncounter = await create(a);
    const url = (id: string) => `/api/v1/patients/${id}/access-log`;
    expect((await call(a, 'doctor')({ method: 'GET', url: url(byAppointment.id) })).statusCode).toBe(403);
    // Written straight to the tables: what counts is what the two modules answer about them.
    await t.database.db.insert(appointments).values({
      organizationId: a.organizationId,
      patientId: byAppointment.id,
      practitionerId: a.users.doctor.id,
      startsAt: new Date(clock.getTime() + 86_400_000),
      endsAt: new Date(clock.getTime() + 86_400_000 + 1_800_000),
    });
    await t.database.db
      .insert(encounters)
      .values({ organizationId: a.organizationId, patientId: byEncounter.id, openedBy: a.users.doctor.id });
    for (const { id } of [byAppointment, byEncounter]) {
      const res = await call(a, 'doctor')({ method: 'GET', url: url(id) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().data.map((e: Entry) => e.action)).toContain('patients.create');
    }
    // A doctor of another organization is not told the patient exists.
    expect((await call(other, 'doctor')({ method: 'GET', url: url(byEncounter.id) })).statusCode).toBe(404);
  });

  it('asks the treating check of the other modules with the caller and the patient', async () => {
    const { id } = await create(a);
    const asked: string[] = [];
    const service = new PatientsService(t.app.uow, t.app.now, async (ctx, patientId) => {
      asked.push(`${ctx.user.id}:${patientId}`);
      return true;
    });
    const page = await service.accessLog(contextOf(a, 'doctor'), id, { limit: 10 });
    expect(page.data.map((e) => e.action)).toEqual(['patients.create']);
    expect(asked).toEqual([`${a.users.doctor.id}:${id}`]);
  });
});

describe('another tenant', () => {
  it('gets 404 on every route about a patient, for every role allowed to call it, and changes nothing', async () => {
    const { id, mrn } = await create(a, { ...valid, familyName: 'Private' });
    const routes = [
      { method: 'GET', url: `/api/v1/patients/${id}` },
      { method: 'PATCH', url: `/api/v1/patients/${id}`, payload: { familyName: 'Changed' } },
      { method: 'POST', url: `/api/v1/patients/${id}/archive` },
      { method: 'POST', url: `/api/v1/patients/${id}/unarchive` },
      { method: 'GET', url: `/api/v1/patients/${id}/access-log` },
      { method: 'GET', url: `/api/v1/patients/lookup?mrn=${mrn}` },
      { method: 'GET', url: `/api/v1/patients/lookup?familyName=Private&birthDate=${valid.birthDate}` },
    ] as const;
    for (const route of routes) {
      for (const role of ['admin', 'manager', 'doctor', 'nurse', 'operator'] as const) {
        const res = await call(b, role)(route);
        if (res.statusCode === 403) continue; // the role lacks the permission: refused before any lookup
        expect(res.statusCode, `${role} ${route.method} ${route.url}`).toBe(404);
        expect(res.body).not.toContain('Private');
      }
    }
    const list = await call(b, 'operator')({ method: 'GET', url: `/api/v1/patients?mrn=${mrn}&status=active` });
    expect(list.json().data.map((p: { id: string }) => p.id)).not.toContain(id);
    const mine = await call(a, 'nurse')({ method: 'GET', url: `/api/v1/patients/${id}` });
    expect(mine.json()).toMatchObject({ familyName: 'Private', status: 'active' });
  });
});
