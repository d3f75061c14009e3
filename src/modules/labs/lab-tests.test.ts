import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let n = 0;
const potassium = (extra: Record<string, unknown> = {}) => ({
  code: `K-${++n}`,
  name: 'Potassium, serum',
  unit: 'mmol/L',
  referenceLow: '3.5',
  referenceHigh: '5.1',
  criticalLow: '2.5',
  criticalHigh: '6.5',
  ...extra,
});

const admin = (tenant = a) => as(t.app, tenant.users.admin.token);

async function createTest(body: Record<string, unknown>, tenant = a) {
  const res = await admin(tenant)({ method: 'POST', url: '/api/v1/lab-tests', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; code: string }>();
}

describe('POST /api/v1/lab-tests', () => {
  it('adds a test with its ranges as decimal strings, and audits it', async () => {
    const res = await admin()({
      method: 'POST',
      url: '/api/v1/lab-tests',
      payload: potassium({ referenceHigh: '5.10', criticalHigh: '6.50000001' }),
    });
    expect(res.statusCode, res.body).toBe(201);
    const test = res.json();
    expect(test).toMatchObject({
      name: 'Potassium, serum',
      unit: 'mmol/L',
      referenceLow: '3.5',
      referenceHigh: '5.10',
      criticalLow: '2.5',
      criticalHigh: '6.50000001',
      active: true,
    });
    const events = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, test.id)));
    expect(events.map((e) => [e.action, e.actorId])).toEqual([['lab-tests.create', a.users.admin.id]]);
  });

  it('takes a test without ranges (null bounds)', async () => {
    const test = await createTest({ code: `QUAL-${++n}`, name: 'Culture', unit: 'text' });
    expect(test).toMatchObject({ referenceLow: null, referenceHigh: null, criticalLow: null, criticalHigh: null });
  });

  it('answers 409 for a code already in the organization, not for one of another organization', async () => {
    const first = await createTest(potassium());
    const again = await admin()({ method: 'POST', url: '/api/v1/lab-tests', payload: potassium({ code: first.code }) });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.details).toEqual([{ path: 'body.code', message: expect.any(String) }]);
    await createTest(potassium({ code: first.code }), b);
  });

  it.each([
    ['a JSON number as a bound', { referenceLow: 3.5 }, 'body.referenceLow', /decimal string/],
    ['a bound with an exponent', { referenceLow: '3e2' }, 'body.referenceLow', /decimal/],
    ['a bound with too many decimals', { referenceLow: '3.123456789' }, 'body.referenceLow', /decimal/],
    ['referenceLow above referenceHigh', { referenceLow: '5.2', criticalLow: null }, 'body.referenceHigh', /at least/],
    ['criticalLow above referenceLow', { criticalLow: '3.5001' }, 'body.referenceLow', /at least/],
    ['criticalHigh below referenceHigh', { criticalHigh: '5.0999' }, 'body.criticalHigh', /at least/],
    ['an unknown field', { low: '1' }, 'body', /./],
    ['a unit with control characters', { unit: 'mmol\u202e/L' }, 'body.unit', /control/],
    ['a code with spaces', { code: 'K 1' }, 'body.code', /letters/],
  ])('refuses %s with 400 naming the field', async (_, change, path, message) => {
    const res = await admin()({ method: 'POST', url: '/api/v1/lab-tests', payload: potassium(change) });
    expect(res.statusCode, res.body).toBe(400);
    const detail = res.json().error.details.find((d: { path: string }) => d.path === path);
    expect(detail?.message, res.body).toMatch(message);
  });

  it('is for admins only (403 for the other roles)', async () => {
    for (const role of ['manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({ method: 'POST', url: '/api/v1/lab-tests', payload: potassium() });
      expect(res.statusCode, role).toBe(403);
    }
    const anonymous = await as(t.app, undefined)({ method: 'POST', url: '/api/v1/lab-tests', payload: potassium() });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('GET /api/v1/lab-tests', () => {
  it('lists the catalog to every member, pages it, searches it and filters on active', async () => {
    const tenant = await createTenant(t.app);
    const made = [];
    for (const code of ['NA', 'K', 'GLU'])
      made.push(await createTest(potassium({ code, name: `Test ${code}` }), tenant));
    await admin(tenant)({ method: 'PATCH', url: `/api/v1/lab-tests/${made[2]!.id}`, payload: { active: false } });
    for (const role of ['admin', 'manager', 'doctor', 'nurse', 'operator'] as const) {
      const res = await as(t.app, tenant.users[role].token)({ method: 'GET', url: '/api/v1/lab-tests?limit=2' });
      expect(res.statusCode, role).toBe(200);
      const page = res.json();
      expect(page.data.map((x: { code: string }) => x.code)).toEqual(['NA', 'K']);
      const next = await as(
        t.app,
        tenant.users[role].token,
      )({
        method: 'GET',
        url: `/api/v1/lab-tests?limit=2&cursor=${page.nextCursor}`,
      });
      expect(next.json()).toMatchObject({ data: [{ code: 'GLU' }], nextCursor: null });
    }
    const search = await admin(tenant)({ method: 'GET', url: '/api/v1/lab-tests?q=glu' });
    expect(search.json().data.map((x: { code: string }) => x.code)).toEqual(['GLU']);
    const active = await admin(tenant)({ method: 'GET', url: '/api/v1/lab-tests?active=true' });
    expect(active.json().data.map((x: { code: string }) => x.code)).toEqual(['NA', 'K']);
    const inactive = await admin(tenant)({ method: 'GET', url: '/api/v1/lab-tests?active=false' });
    expect(inactive.json().data.map((x: { code: string }) => x.code)).toEqual(['GLU']);
    // Another organization's catalog is not in the list.
    const other = await admin(b)({ method: 'GET', url: '/api/v1/lab-tests?q=Test%20GLU' });
    expect(other.json().data).toEqual([]);
  });

  it('refuses a malformed query with 400', async () => {
    for (const query of ['active=yes', 'limit=0', 'cursor=nonsense']) {
      const res = await admin()({ method: 'GET', url: `/api/v1/lab-tests?${query}` });
      expect(res.statusCode, query).toBe(400);
    }
  });
});

describe('GET and PATCH /api/v1/lab-tests/:id', () => {
  it('reads a test, and 404 for another organization or none', async () => {
    const test = await createTest(potassium());
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/lab-tests/${test.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().code).toBe(test.code);
    const other = await admin(b)({ method: 'GET', url: `/api/v1/lab-tests/${test.id}` });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.message).toBe('lab test not found');
    const none = await admin()({ method: 'GET', url: '/api/v1/lab-tests/00000000-0000-4000-8000-000000000000' });
    expect(none.statusCode).toBe(404);
  });

  it('changes a test, clears a bound with null, deactivates it, and audits each', async () => {
    const test = await createTest(potassium());
    const res = await admin()({
      method: 'PATCH',
      url: `/api/v1/lab-tests/${test.id}`,
      payload: { name: 'Potassium', criticalLow: null, referenceLow: '3.4' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Potassium',
      criticalLow: null,
      referenceLow: '3.4',
      referenceHigh: '5.1',
    });
    const off = await admin()({ method: 'PATCH', url: `/api/v1/lab-tests/${test.id}`, payload: { active: false } });
    expect(off.json().active).toBe(false);
    const events = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, test.id)));
    expect(events.map((e) => e.action).sort()).toEqual([
      'lab-tests.create',
      'lab-tests.deactivate',
      'lab-tests.update',
    ]);
  });

  it('checks the ranges after the change with the bounds it keeps (400)', async () => {
    const test = await createTest(potassium());
    const res = await admin()({
      method: 'PATCH',
      url: `/api/v1/lab-tests/${test.id}`,
      payload: { referenceHigh: '7' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'body.criticalHigh', message: expect.stringMatching(/7/) }]);
  });

  it('answers 409 for a code taken, 400 for an empty patch, 404 for another organization, 403 for a doctor', async () => {
    const [one, two] = [await createTest(potassium()), await createTest(potassium())];
    const taken = await admin()({ method: 'PATCH', url: `/api/v1/lab-tests/${two.id}`, payload: { code: one.code } });
    expect(taken.statusCode).toBe(409);
    const empty = await admin()({ method: 'PATCH', url: `/api/v1/lab-tests/${two.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
    const other = await admin(b)({ method: 'PATCH', url: `/api/v1/lab-tests/${two.id}`, payload: { name: 'x' } });
    expect(other.statusCode).toBe(404);
    const doctor = await as(
      t.app,
      a.users.doctor.token,
    )({
      method: 'PATCH',
      url: `/api/v1/lab-tests/${two.id}`,
      payload: { name: 'x' },
    });
    expect(doctor.statusCode).toBe(403);
  });
});
