import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
let clock = Date.parse('2026-03-02T07:00:00.000Z');
const minutes = (n: number) => (clock += n * 60_000);

/** A hospital with two units, in `tenant`. */
interface Place {
  hospitalId: string;
  ward: string;
  icu: string;
}

async function place(tenant: Tenant): Promise<Place> {
  const call = as(t.app, tenant.users.admin.token);
  const name = `H ${Math.random().toString(36).slice(2, 8)}`;
  const hospital = await call({ method: 'POST', url: '/api/v1/hospitals', payload: { name } });
  const hospitalId = hospital.json().id as string;
  const unit = async (unitName: string) =>
    (await call({ method: 'POST', url: `/api/v1/hospitals/${hospitalId}/units`, payload: { name: unitName } })).json()
      .id as string;
  return { hospitalId, ward: await unit('Ward 4B'), icu: await unit('ICU') };
}

let pa: Place;
let pb: Place;

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => new Date(clock) });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  [pa, pb] = await Promise.all([place(a), place(b)]);
});
afterAll(() => t.close());

const caller = (tenant: Tenant, role: keyof Tenant['users']) => as(t.app, tenant.users[role].token);

async function auditActions(tenant: Tenant, query: string): Promise<string[]> {
  await t.app.auditLog.drain();
  const res = await caller(tenant, 'admin')({ method: 'GET', url: `/api/v1/audit-events?${query}&limit=100` });
  return res
    .json<{ data: { action: string }[] }>()
    .data.map((e) => e.action)
    .sort();
}

describe('staff profiles', () => {
  it('lists every member with their role, profile and duty status, to every member', async () => {
    const res = await caller(a, 'nurse')({ method: 'GET', url: '/api/v1/staff' });
    expect(res.statusCode).toBe(200);
    const data = res.json().data as { userId: string; role: string; onDuty: boolean; phone: null }[];
    expect(data.map((s) => s.userId).sort()).toEqual(
      Object.values(a.users)
        .map((u) => u.id)
        .sort(),
    );
    const nurse = data.find((s) => s.userId === a.users.nurse.id);
    expect(nurse).toMatchObject({ role: 'nurse', onDuty: false, shift: null, unitId: null, phone: null });
    expect(JSON.stringify(res.json())).not.toContain('@');
  });

  it('are set by a manager (a unit implies its hospital), read back and audited', async () => {
    const put = await caller(
      a,
      'manager',
    )({
      method: 'PUT',
      url: `/api/v1/staff/${a.users.doctor.id}`,
      payload: { unitId: pa.icu, licenceNumber: 'MD-1234', specialization: 'Cardiology', phone: '+49 30 1234' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({
      userId: a.users.doctor.id,
      role: 'doctor',
      hospitalId: pa.hospitalId,
      unitId: pa.icu,
      licenceNumber: 'MD-1234',
      specialization: 'Cardiology',
    });
    const got = await caller(a, 'operator')({ method: 'GET', url: `/api/v1/staff/${a.users.doctor.id}` });
    expect(got.json().phone).toBe('+49 30 1234');
    const inIcu = await caller(a, 'nurse')({ method: 'GET', url: `/api/v1/staff?unitId=${pa.icu}` });
    expect(inIcu.json().data.map((s: { userId: string }) => s.userId)).toEqual([a.users.doctor.id]);
    // PUT replaces: what is left out is cleared.
    const replaced = await caller(
      a,
      'admin',
    )({
      method: 'PUT',
      url: `/api/v1/staff/${a.users.doctor.id}`,
      payload: { hospitalId: pa.hospitalId },
    });
    expect(replaced.json()).toMatchObject({
      hospitalId: pa.hospitalId,
      unitId: null,
      licenceNumber: null,
      phone: null,
    });
    expect(await auditActions(a, `resourceId=${a.users.doctor.id}&resourceType=staff-profile`)).toEqual([
      'staff-profiles.update',
      'staff-profiles.update',
      'staff.read',
    ]);
  });

  it('let a member change their own phone and specialization, and nothing else', async () => {
    const own = await caller(a, 'nurse')({ method: 'PATCH', url: '/api/v1/staff/me', payload: { phone: '0170 555' } });
    expect(own.statusCode).toBe(200);
    expect(own.json()).toMatchObject({ userId: a.users.nurse.id, phone: '0170 555' });
    const me = await caller(a, 'nurse')({ method: 'GET', url: '/api/v1/staff/me' });
    expect(me.json().phone).toBe('0170 555');
    const unit = await caller(a, 'nurse')({ method: 'PATCH', url: '/api/v1/staff/me', payload: { unitId: pa.icu } });
    expect(unit.statusCode).toBe(400);
    const badPhone = await caller(
      a,
      'nurse',
    )({ method: 'PATCH', url: '/api/v1/staff/me', payload: { phone: 'call me' } });
    expect(badPhone.statusCode).toBe(400);
    expect(badPhone.json().error.details[0].path).toBe('body.phone');
    const put = await caller(
      a,
      'nurse',
    )({
      method: 'PUT',
      url: `/api/v1/staff/${a.users.nurse.id}`,
      payload: { unitId: pa.icu },
    });
    expect(put.statusCode).toBe(403);
    expect(put.json().error.message).toBe('the nurse role lacks the staff:manage permission');
  });

  it('refuse a unit outside the hospital (400), a deactivated unit (409), and anything of another tenant (404)', async () => {
    const manager = caller(a, 'manager');
    const url = `/api/v1/staff/${a.users.operator.id}`;
    const other = await place(a);
    const mismatch = await manager({ method: 'PUT', url, payload: { hospitalId: other.hospitalId, unitId: pa.ward } });
    expect(mismatch.statusCode).toBe(400);
    await caller(a, 'admin')({ method: 'PATCH', url: `/api/v1/units/${other.icu}`, payload: { active: false } });
    const closed = await manager({ method: 'PUT', url, payload: { unitId: other.icu } });
    expect(closed.statusCode).toBe(409);
    const foreignUnit = await manager({ method: 'PUT', url, payload: { unitId: pb.ward } });
    expect(foreignUnit.statusCode).toBe(404);
    expect(foreignUnit.json().error.details).toEqual([{ path: 'body.unitId', message: 'unit not found' }]);
    const foreignHospital = await manager({ method: 'PUT', url, payload: { hospitalId: pb.hospitalId } });
    expect(foreignHospital.statusCode).toBe(404);
    for (const call of [
      { method: 'GET', url: `/api/v1/staff/${b.users.nurse.id}` },
      { method: 'PUT', url: `/api/v1/staff/${b.users.nurse.id}`, payload: { phone: '123' } },
      { method: 'POST', url: `/api/v1/staff/${b.users.nurse.id}/shift/start`, payload: { unitId: pa.ward } },
      { method: 'POST', url: `/api/v1/staff/${b.users.nurse.id}/shift/end` },
      { method: 'GET', url: `/api/v1/staff/${b.users.nurse.id}/shifts` },
      { method: 'GET', url: `/api/v1/units/${pb.ward}/on-duty` },
    ] as const) {
      expect((await manager(call)).statusCode, `${call.method} ${call.url}`).toBe(404);
    }
    const profile = await caller(b, 'nurse')({ method: 'GET', url: '/api/v1/staff/me' });
    expect(profile.json().phone).toBeNull();
  });
});

describe('shifts', () => {
  it('start in a unit (its hospital, the caller’s role), refuse a second start naming the open unit, end once', async () => {
    const nurse = caller(a, 'nurse');
    minutes(5);
    const start = await nurse({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId: pa.ward } });
    expect(start.statusCode).toBe(201);
    expect(start.json()).toMatchObject({
      userId: a.users.nurse.id,
      unitId: pa.ward,
      hospitalId: pa.hospitalId,
      role: 'nurse',
      startedAt: new Date(clock).toISOString(),
      endedAt: null,
      startedBy: a.users.nurse.id,
    });
    const again = await nurse({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId: pa.icu } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toContain(`unit "Ward 4B" (${pa.ward})`);
    const listed = await nurse({ method: 'GET', url: `/api/v1/staff/${a.users.nurse.id}` });
    expect(listed.json()).toMatchObject({ onDuty: true, shift: { unitId: pa.ward, role: 'nurse' } });

    minutes(60);
    const end = await nurse({ method: 'POST', url: '/api/v1/staff/me/shift/end' });
    expect(end.statusCode).toBe(200);
    expect(end.json()).toMatchObject({ id: start.json().id, endedAt: new Date(clock).toISOString() });
    const none = await nurse({ method: 'POST', url: '/api/v1/staff/me/shift/end' });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.message).toBe('no shift is open: there is nothing to end');
    expect(await auditActions(a, `resourceId=${start.json().id}`)).toEqual(['shifts.end', 'shifts.start']);
  });

  it('refuse a deactivated unit (409) and another tenant’s unit (404)', async () => {
    const extra = await place(a);
    await caller(a, 'admin')({ method: 'PATCH', url: `/api/v1/units/${extra.ward}`, payload: { active: false } });
    const start = (unitId: string) =>
      caller(a, 'operator')({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId } });
    expect((await start(extra.ward)).statusCode).toBe(409);
    await caller(
      a,
      'admin',
    )({ method: 'PATCH', url: `/api/v1/hospitals/${extra.hospitalId}`, payload: { active: false } });
    expect((await start(extra.icu)).statusCode).toBe(409);
    const foreign = await start(pb.ward);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.message).toBe('unit not found');
    expect((await start('not a valid id')).statusCode).toBe(400);
  });

  it('started at once by the same person: exactly one 201, the others 409', async () => {
    const tenant = await createTenant(t.app);
    const where = await place(tenant);
    const doctor = caller(tenant, 'doctor');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        doctor({
          method: 'POST',
          url: '/api/v1/staff/me/shift/start',
          payload: { unitId: i % 2 ? where.ward : where.icu },
        }),
      ),
    );
    const codes = results.map((res) => res.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const winner = results.find((res) => res.statusCode === 201)!.json();
    for (const loser of results.filter((res) => res.statusCode === 409)) {
      expect(loser.json().error.message).toContain(`(${winner.unitId})`);
    }
    const history = await doctor({ method: 'GET', url: '/api/v1/staff/me/shifts' });
    expect(history.json().data).toHaveLength(1);
  });

  it('of another member are started and ended by a manager, not by a nurse', async () => {
    const manager = caller(a, 'manager');
    const forNurse = await caller(
      a,
      'nurse',
    )({
      method: 'POST',
      url: `/api/v1/staff/${a.users.doctor.id}/shift/start`,
      payload: { unitId: pa.icu },
    });
    expect(forNurse.statusCode).toBe(403);
    expect(forNurse.json().error.message).toBe('the nurse role lacks the staff:manage permission');

    minutes(1);
    const start = await manager({
      method: 'POST',
      url: `/api/v1/staff/${a.users.doctor.id}/shift/start`,
      payload: { unitId: pa.icu },
    });
    expect(start.statusCode).toBe(201);
    expect(start.json()).toMatchObject({ userId: a.users.doctor.id, role: 'doctor', startedBy: a.users.manager.id });
    const twice = await manager({
      method: 'POST',
      url: `/api/v1/staff/${a.users.doctor.id}/shift/start`,
      payload: { unitId: pa.ward },
    });
    expect(twice.statusCode).toBe(409);
    const end = await manager({ method: 'POST', url: `/api/v1/staff/${a.users.doctor.id}/shift/end` });
    expect(end.json()).toMatchObject({ userId: a.users.doctor.id, endedBy: a.users.manager.id });
    const history = await manager({ method: 'GET', url: `/api/v1/staff/${a.users.doctor.id}/shifts` });
    expect(history.json().data[0]).toMatchObject({ id: start.json().id });
  });

  it('page through a member’s history, newest first', async () => {
    const operator = caller(a, 'operator');
    for (let i = 0; i < 3; i++) {
      minutes(10);
      expect(
        (await operator({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId: pa.ward } }))
          .statusCode,
      ).toBe(201);
      minutes(10);
      await operator({ method: 'POST', url: '/api/v1/staff/me/shift/end' });
    }
    const starts: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await operator({
        method: 'GET',
        url: `/api/v1/staff/me/shifts?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      starts.push(...res.json().data.map((s: { startedAt: string }) => s.startedAt));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(starts).toHaveLength(3);
    expect([...starts].sort().reverse()).toEqual(starts);
  });
});

describe('GET /api/v1/units/:id/on-duty', () => {
  it('answers who is on duty by role, with the nurse gap visible, in one call', async () => {
    const tenant = await createTenant(t.app);
    const where = await place(tenant);
    const roster = async () => {
      const res = await caller(tenant, 'nurse')({ method: 'GET', url: `/api/v1/units/${where.ward}/on-duty` });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    const empty = await roster();
    expect(empty).toEqual({
      unitId: where.ward,
      hospitalId: where.hospitalId,
      onDuty: { nurse: [], doctor: [], manager: [], operator: [], admin: [] },
      gaps: ['nurse', 'doctor', 'manager', 'operator', 'admin'],
    });

    minutes(1);
    const start = (role: 'doctor' | 'manager' | 'nurse', unitId: string) =>
      caller(tenant, role)({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId } });
    expect((await start('doctor', where.ward)).statusCode).toBe(201);
    expect((await start('manager', where.ward)).statusCode).toBe(201);
    expect((await start('nurse', where.icu)).statusCode).toBe(201);

    const now = await roster();
    expect(now.gaps).toEqual(['nurse', 'operator', 'admin']);
    expect(now.onDuty.nurse).toEqual([]);
    expect(now.onDuty.doctor).toEqual([
      {
        userId: tenant.users.doctor.id,
        name: 'Test doctor',
        role: 'doctor',
        shiftId: expect.any(String),
        startedAt: new Date(clock).toISOString(),
      },
    ]);
    expect(now.onDuty.manager.map((e: { userId: string }) => e.userId)).toEqual([tenant.users.manager.id]);

    // The nurse moves to the ward: the gap closes.
    await caller(tenant, 'nurse')({ method: 'POST', url: '/api/v1/staff/me/shift/end' });
    expect((await start('nurse', where.ward)).statusCode).toBe(201);
    expect((await roster()).gaps).toEqual(['operator', 'admin']);
    expect(await auditActions(tenant, `resourceId=${where.ward}&action=shifts.on-duty`)).toHaveLength(3);
  });
});
