import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedication } from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const admin = () => as(t.app, a.users.admin.token);
const body = (code: string, extra: Record<string, unknown> = {}) => ({
  name: 'Amoxicillin',
  form: 'capsule',
  strength: '500 mg',
  code,
  ...extra,
});

describe('POST /api/v1/medications', () => {
  it('adds a medication, ingredients lower-cased, and records it on the audit trail', async () => {
    const res = await admin()({
      method: 'POST',
      url: '/api/v1/medications',
      payload: body('AMOX-500', { ingredients: ['Amoxicillin', 'Penicillin', 'amoxicillin'], requiresPriorAuth: true }),
    });
    expect(res.statusCode, res.body).toBe(201);
    const medication = res.json();
    expect(medication).toMatchObject({
      name: 'Amoxicillin',
      form: 'capsule',
      strength: '500 mg',
      code: 'AMOX-500',
      ingredients: ['amoxicillin', 'penicillin'],
      requiresPriorAuth: true,
      active: true,
    });
    const events = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, medication.id)));
    expect(events.map((e) => [e.action, e.actorId])).toEqual([['medications.create', a.users.admin.id]]);
  });

  it('answers 409 for a code already in the catalog, but another organization may use it', async () => {
    await createMedication(t.app, a, { code: 'DUP-1' });
    const again = await admin()({ method: 'POST', url: '/api/v1/medications', payload: body('DUP-1') });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'CONFLICT',
      message: 'a medication with this code already exists',
    });
    await createMedication(t.app, b, { code: 'DUP-1' });
  });

  it('refuses bad input: missing fields, unknown keys, a malformed code, control characters', async () => {
    for (const payload of [
      { name: 'X', form: 'tablet', strength: '1 mg' },
      { ...body('OK-1'), colour: 'blue' },
      body('has space'),
      body('OK-2', { name: 'Evil\u202Ename' }),
      body('OK-3', { ingredients: [''] }),
    ]) {
      const res = await admin()({ method: 'POST', url: '/api/v1/medications', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('is for admins only (medications:manage)', async () => {
    for (const role of ['manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({
        method: 'POST',
        url: '/api/v1/medications',
        payload: body(`ROLE-${role}`),
      });
      expect(res.statusCode, role).toBe(403);
    }
  });
});

describe('GET /api/v1/medications', () => {
  it('lists the catalog to every member, with q on name or code and the active filter, paged', async () => {
    const tag = `Zq${Date.now()}`;
    const first = await createMedication(t.app, a, { name: `${tag} Ibuprofen`, code: `${tag}-1` });
    const second = await createMedication(t.app, a, { name: `${tag} Ibuprofen forte`, code: `${tag}-2` });
    const third = await createMedication(t.app, a, { name: 'Something else', code: `${tag}-3` });
    await admin()({ method: 'PATCH', url: `/api/v1/medications/${second.id}`, payload: { active: false } });
    for (const role of ['admin', 'manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({ method: 'GET', url: `/api/v1/medications?q=${tag.toLowerCase()}` });
      expect(res.statusCode, role).toBe(200);
      expect(res.json().data.map((m: { id: string }) => m.id)).toEqual([first.id, second.id, third.id]);
    }
    const active = await admin()({ method: 'GET', url: `/api/v1/medications?q=${tag}&active=true` });
    expect(active.json().data.map((m: { id: string }) => m.id)).toEqual([first.id, third.id]);
    const inactive = await admin()({ method: 'GET', url: `/api/v1/medications?q=${tag}&active=false` });
    expect(inactive.json().data.map((m: { id: string }) => m.id)).toEqual([second.id]);
    const page1 = await admin()({ method: 'GET', url: `/api/v1/medications?q=${tag}&limit=2` });
    expect(page1.json().data).toHaveLength(2);
    const page2 = await admin()({
      method: 'GET',
      url: `/api/v1/medications?q=${tag}&limit=2&cursor=${page1.json().nextCursor}`,
    });
    expect(page2.json()).toEqual({ data: [expect.objectContaining({ id: third.id })], nextCursor: null });
  });

  it('takes % and _ in q literally', async () => {
    await createMedication(t.app, a, { name: 'Percent 100% pure', code: 'PCT-1' });
    const res = await admin()({ method: 'GET', url: `/api/v1/medications?q=${encodeURIComponent('0% p')}` });
    expect(res.json().data.map((m: { code: string }) => m.code)).toEqual(['PCT-1']);
    const none = await admin()({ method: 'GET', url: `/api/v1/medications?q=${encodeURIComponent('_ercent')}` });
    expect(none.json().data).toEqual([]);
  });

  it("never lists another organization's medications", async () => {
    const theirs = await createMedication(t.app, b, { name: 'Only in B', code: 'ONLY-B' });
    const res = await admin()({ method: 'GET', url: '/api/v1/medications?q=Only%20in%20B' });
    expect(res.json().data).toEqual([]);
    expect(res.body).not.toContain(theirs.id);
  });
});

describe('GET and PATCH /api/v1/medications/:id', () => {
  it('reads one, changes it, deactivates and reactivates it, each audited', async () => {
    const medication = await createMedication(t.app, a, { code: 'PATCH-1' });
    const read = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/medications/${medication.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: medication.id, code: 'PATCH-1' });

    const patched = await admin()({
      method: 'PATCH',
      url: `/api/v1/medications/${medication.id}`,
      payload: { strength: '1 g', ingredients: ['Acetaminophen'] },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ strength: '1 g', ingredients: ['acetaminophen'], active: true });
    const off = await admin()({
      method: 'PATCH',
      url: `/api/v1/medications/${medication.id}`,
      payload: { active: false },
    });
    expect(off.json().active).toBe(false);
    const on = await admin()({
      method: 'PATCH',
      url: `/api/v1/medications/${medication.id}`,
      payload: { active: true },
    });
    expect(on.json().active).toBe(true);
    const events = await t.database.db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, medication.id)))
      // In the order they joined the chain (a table scan keeps none).
      .orderBy(auditEvents.seq);
    expect(events.map((e) => e.action)).toEqual([
      'medications.create',
      'medications.update',
      'medications.deactivate',
      'medications.reactivate',
    ]);
  });

  it('answers 409 when the new code is taken, 400 for an empty patch', async () => {
    await createMedication(t.app, a, { code: 'TAKEN-1' });
    const other = await createMedication(t.app, a, { code: 'TAKEN-2' });
    const taken = await admin()({
      method: 'PATCH',
      url: `/api/v1/medications/${other.id}`,
      payload: { code: 'TAKEN-1' },
    });
    expect(taken.statusCode).toBe(409);
    const empty = await admin()({ method: 'PATCH', url: `/api/v1/medications/${other.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
  });

  it("answers 404 for another organization's medication, read or changed, and leaves it as it was", async () => {
    const theirs = await createMedication(t.app, b, { code: 'THEIRS-1' });
    const read = await admin()({ method: 'GET', url: `/api/v1/medications/${theirs.id}` });
    expect(read.statusCode).toBe(404);
    const patch = await admin()({
      method: 'PATCH',
      url: `/api/v1/medications/${theirs.id}`,
      payload: { active: false },
    });
    expect(patch.statusCode).toBe(404);
    const still = await as(t.app, b.users.admin.token)({ method: 'GET', url: `/api/v1/medications/${theirs.id}` });
    expect(still.json().active).toBe(true);
  });

  it('lets only admins change a medication', async () => {
    const medication = await createMedication(t.app, a, { code: 'ROLE-PATCH' });
    for (const role of ['manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({
        method: 'PATCH',
        url: `/api/v1/medications/${medication.id}`,
        payload: { active: false },
      });
      expect(res.statusCode, role).toBe(403);
    }
  });
});
