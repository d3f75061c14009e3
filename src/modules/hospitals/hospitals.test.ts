import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const admin = (tenant: Tenant) => as(t.app, tenant.users.admin.token);

async function hospital(tenant: Tenant, body: Record<string, unknown> = {}) {
  const res = await admin(tenant)({
    method: 'POST',
    url: '/api/v1/hospitals',
    payload: { name: `General ${Math.random().toString(36).slice(2, 8)}`, ...body },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; name: string; isDefault: boolean; active: boolean }>();
}

async function unit(tenant: Tenant, hospitalId: string, name = 'Ward 4B') {
  const res = await admin(tenant)({ method: 'POST', url: `/api/v1/hospitals/${hospitalId}/units`, payload: { name } });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; hospitalId: string; kind: string }>();
}

async function auditActions(tenant: Tenant, resourceId: string): Promise<string[]> {
  await t.app.auditLog.drain();
  const res = await admin(tenant)({ method: 'GET', url: `/api/v1/audit-events?resourceId=${resourceId}&limit=100` });
  expect(res.statusCode).toBe(200);
  return res
    .json<{ data: { action: string }[] }>()
    .data.map((e) => e.action)
    .sort();
}

describe('hospitals', () => {
  it('are created by an admin, read by every member, changed and deactivated, all audited', async () => {
    const created = await admin(a)({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: 'Riverside', address: '1 River Road', timezone: 'Europe/Berlin' },
    });
    expect(created.statusCode).toBe(201);
    const h = created.json();
    expect(h).toMatchObject({ name: 'Riverside', timezone: 'Europe/Berlin', isDefault: false, active: true });

    for (const role of ['manager', 'doctor', 'nurse', 'operator'] as const) {
      const got = await as(t.app, a.users[role].token)({ method: 'GET', url: `/api/v1/hospitals/${h.id}` });
      expect(got.statusCode).toBe(200);
      expect(got.json().name).toBe('Riverside');
    }
    const renamed = await admin(a)({
      method: 'PATCH',
      url: `/api/v1/hospitals/${h.id}`,
      payload: { name: 'Riverside Clinic' },
    });
    expect(renamed.json()).toMatchObject({ name: 'Riverside Clinic', active: true });

    const off = await admin(a)({ method: 'PATCH', url: `/api/v1/hospitals/${h.id}`, payload: { active: false } });
    expect(off.statusCode).toBe(200);
    expect(off.json().active).toBe(false);
    const activeOnly = await admin(a)({ method: 'GET', url: '/api/v1/hospitals?active=true&limit=100' });
    expect(activeOnly.json().data.map((x: { id: string }) => x.id)).not.toContain(h.id);
    const inactive = await admin(a)({ method: 'GET', url: '/api/v1/hospitals?active=false' });
    expect(inactive.json().data.map((x: { id: string }) => x.id)).toContain(h.id);

    expect(await auditActions(a, h.id)).toEqual(['hospitals.create', 'hospitals.deactivate', 'hospitals.update']);
  });

  it('refuse bad input with 400 naming the field, and a duplicate name with 409', async () => {
    const bad = await admin(a)({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: 'X', timezone: 'Mars/Olympus' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].path).toBe('body.timezone');
    const hidden = await admin(a)({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'Evil\u202eName' } });
    expect(hidden.statusCode).toBe(400);
    const unknown = await admin(a)({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'Y', beds: 4 } });
    expect(unknown.statusCode).toBe(400);
    const empty = await admin(a)({ method: 'PATCH', url: `/api/v1/hospitals/${(await hospital(a)).id}`, payload: {} });
    expect(empty.statusCode).toBe(400);

    const lower = await admin(a)({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: 'Z', timezone: 'europe/berlin' },
    });
    expect(lower.json().timezone).toBe('Europe/Berlin');

    await hospital(a, { name: 'Twin' });
    const twin = await admin(a)({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'Twin' } });
    expect(twin.statusCode).toBe(409);
    expect(twin.json().error.message).toBe('a hospital with this name already exists');
  });

  it('pages the list without repeating anyone', async () => {
    const tenant = await createTenant(t.app);
    for (let i = 0; i < 5; i++) await hospital(tenant, { name: `H${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin(tenant)({
        method: 'GET',
        url: `/api/v1/hospitals?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      seen.push(...res.json().data.map((x: { name: string }) => x.name));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual(['H0', 'H1', 'H2', 'H3', 'H4']);
  });

  it('have at most one default: setting it on one clears it on the others', async () => {
    const tenant = await createTenant(t.app);
    const first = await hospital(tenant, { isDefault: true });
    const second = await hospital(tenant, { isDefault: true });
    const third = await hospital(tenant);
    const defaults = async () => {
      const res = await admin(tenant)({ method: 'GET', url: '/api/v1/hospitals' });
      return res
        .json()
        .data.filter((x: { isDefault: boolean }) => x.isDefault)
        .map((x: { id: string }) => x.id);
    };
    expect(await defaults()).toEqual([second.id]);
    // Concurrent switches: each one wins in turn, never two defaults, never a 5xx.
    const switches = await Promise.all(
      [first, third, first, third].map((h) =>
        admin(tenant)({ method: 'PATCH', url: `/api/v1/hospitals/${h.id}`, payload: { isDefault: true } }),
      ),
    );
    expect(switches.map((res) => res.statusCode)).toEqual([200, 200, 200, 200]);
    expect(await defaults()).toHaveLength(1);

    const [current] = await defaults();
    const off = await admin(tenant)({
      method: 'PATCH',
      url: `/api/v1/hospitals/${current}`,
      payload: { active: false },
    });
    expect(off.statusCode).toBe(409);
    expect(off.json().error.message).toMatch(/is the default/);
    const both = await admin(tenant)({
      method: 'PATCH',
      url: `/api/v1/hospitals/${current}`,
      payload: { active: false, isDefault: false },
    });
    expect(both.statusCode).toBe(200);
    expect(await defaults()).toEqual([]);
    const inactiveDefault = await admin(tenant)({
      method: 'PATCH',
      url: `/api/v1/hospitals/${current}`,
      payload: { isDefault: true },
    });
    expect(inactiveDefault.statusCode).toBe(409);
  });

  it('are managed by admins only: 403 naming hospitals:manage', async () => {
    for (const role of ['manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'No' } });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toBe(`the ${role} role lacks the hospitals:manage permission`);
    }
  });
});

describe('units and rooms', () => {
  it('are created, read, changed and deactivated; nothing new goes under a deactivated parent', async () => {
    const h = await hospital(a);
    const u = await unit(a, h.id, 'ICU');
    expect(u).toMatchObject({ hospitalId: h.id, kind: 'ward' });
    const icu = await admin(a)({ method: 'PATCH', url: `/api/v1/units/${u.id}`, payload: { kind: 'icu' } });
    expect(icu.json().kind).toBe('icu');

    const room = await admin(a)({ method: 'POST', url: `/api/v1/units/${u.id}/rooms`, payload: { name: 'Bed 1' } });
    expect(room.statusCode).toBe(201);
    expect(room.json()).toMatchObject({ unitId: u.id, hospitalId: h.id, name: 'Bed 1', active: true });
    const nurse = as(t.app, a.users.nurse.token);
    expect((await nurse({ method: 'GET', url: `/api/v1/rooms/${room.json().id}` })).json().name).toBe('Bed 1');
    expect((await nurse({ method: 'GET', url: `/api/v1/units/${u.id}/rooms` })).json().data).toHaveLength(1);
    expect((await nurse({ method: 'GET', url: `/api/v1/hospitals/${h.id}/units` })).json().data).toHaveLength(1);
    expect((await nurse({ method: 'GET', url: `/api/v1/units/${u.id}` })).json().kind).toBe('icu');

    const duplicate = await admin(a)({
      method: 'POST',
      url: `/api/v1/units/${u.id}/rooms`,
      payload: { name: 'Bed 1' },
    });
    expect(duplicate.statusCode).toBe(409);

    const roomOff = await admin(a)({
      method: 'PATCH',
      url: `/api/v1/rooms/${room.json().id}`,
      payload: { active: false },
    });
    expect(roomOff.json().active).toBe(false);

    const unitOff = await admin(a)({ method: 'PATCH', url: `/api/v1/units/${u.id}`, payload: { active: false } });
    expect(unitOff.json().active).toBe(false);
    const underUnit = await admin(a)({
      method: 'POST',
      url: `/api/v1/units/${u.id}/rooms`,
      payload: { name: 'Bed 2' },
    });
    expect(underUnit.statusCode).toBe(409);
    expect(underUnit.json().error.message).toMatch(/unit is deactivated/);

    const hospitalOff = await admin(a)({
      method: 'PATCH',
      url: `/api/v1/hospitals/${h.id}`,
      payload: { active: false },
    });
    expect(hospitalOff.statusCode).toBe(200);
    const underHospital = await admin(a)({
      method: 'POST',
      url: `/api/v1/hospitals/${h.id}/units`,
      payload: { name: 'ER' },
    });
    expect(underHospital.statusCode).toBe(409);
    expect(underHospital.json().error.message).toMatch(/hospital is deactivated/);
    const reopen = await admin(a)({ method: 'PATCH', url: `/api/v1/units/${u.id}`, payload: { active: true } });
    expect(reopen.statusCode).toBe(409);

    expect(await auditActions(a, u.id)).toEqual(['units.create', 'units.deactivate', 'units.update']);
    expect(await auditActions(a, room.json().id)).toEqual(['rooms.create', 'rooms.deactivate']);
  });

  it('are deleted only when nothing refers to them (409 otherwise)', async () => {
    const h = await hospital(a);
    const u = await unit(a, h.id);
    const referred = await admin(a)({ method: 'DELETE', url: `/api/v1/hospitals/${h.id}` });
    expect(referred.statusCode).toBe(409);
    expect(referred.json().error.message).toMatch(/deactivate it instead/);
    expect((await admin(a)({ method: 'DELETE', url: `/api/v1/units/${u.id}` })).statusCode).toBe(204);
    expect((await admin(a)({ method: 'GET', url: `/api/v1/units/${u.id}` })).statusCode).toBe(404);
    expect((await admin(a)({ method: 'DELETE', url: `/api/v1/hospitals/${h.id}` })).statusCode).toBe(204);
    expect(await auditActions(a, h.id)).toEqual(['hospitals.create', 'hospitals.delete']);
  });

  it("answer 404 for another tenant's hospital, unit and room, and change nothing", async () => {
    const h = await hospital(a);
    const u = await unit(a, h.id);
    const room = (
      await admin(a)({ method: 'POST', url: `/api/v1/units/${u.id}/rooms`, payload: { name: 'R1' } })
    ).json<{ id: string }>();
    const other = admin(b);
    const calls = [
      { method: 'GET', url: `/api/v1/hospitals/${h.id}` },
      { method: 'PATCH', url: `/api/v1/hospitals/${h.id}`, payload: { active: false } },
      { method: 'DELETE', url: `/api/v1/hospitals/${h.id}` },
      { method: 'GET', url: `/api/v1/hospitals/${h.id}/units` },
      { method: 'POST', url: `/api/v1/hospitals/${h.id}/units`, payload: { name: 'Sneaky' } },
      { method: 'GET', url: `/api/v1/units/${u.id}` },
      { method: 'PATCH', url: `/api/v1/units/${u.id}`, payload: { name: 'Sneaky' } },
      { method: 'GET', url: `/api/v1/units/${u.id}/rooms` },
      { method: 'POST', url: `/api/v1/units/${u.id}/rooms`, payload: { name: 'Sneaky' } },
      { method: 'GET', url: `/api/v1/rooms/${room.id}` },
      { method: 'PATCH', url: `/api/v1/rooms/${room.id}`, payload: { active: false } },
      { method: 'DELETE', url: `/api/v1/rooms/${room.id}` },
    ] as const;
    for (const call of calls) {
      const res = await other(call);
      expect(res.statusCode, `${call.method} ${call.url}`).toBe(404);
    }
    const list = await other({ method: 'GET', url: '/api/v1/hospitals?limit=100' });
    expect(list.json().data.map((x: { id: string }) => x.id)).not.toContain(h.id);
    expect((await admin(a)({ method: 'GET', url: `/api/v1/rooms/${room.id}` })).json().active).toBe(true);
    expect((await admin(a)({ method: 'GET', url: `/api/v1/hospitals/${h.id}/units` })).json().data).toHaveLength(1);
  });
});
