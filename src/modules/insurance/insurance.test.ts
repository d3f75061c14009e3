import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import type { Role } from '../../platform/permissions.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const call = (role: Role, tenant: Tenant = a) => as(t.app, tenant.users[role].token);

interface Coverage {
  id: string;
  patientId: string;
  priority: string;
  validFrom: string;
  validTo: string | null;
  active: boolean;
}

async function insurer(tenant: Tenant = a, name = `Insurer ${randomUUID().slice(0, 8)}`): Promise<string> {
  const res = await call('admin', tenant)({ method: 'POST', url: '/api/v1/insurers', payload: { name } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

const coverage = (payload: Record<string, unknown>, tenant: Tenant = a) =>
  call('operator', tenant)({ method: 'POST', url: '/api/v1/coverages', payload });

async function newCoverage(payload: Record<string, unknown>, tenant: Tenant = a): Promise<Coverage> {
  const res = await coverage(payload, tenant);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function auditActions(patientId: string): Promise<string[]> {
  const res = await call('admin')({ method: 'GET', url: `/api/v1/audit-events?patientId=${patientId}&limit=100` });
  return res.json<{ data: { action: string }[] }>().data.map((event) => event.action);
}

describe('insurers', () => {
  it('admins keep the catalog; every member reads it; a name is unique', async () => {
    const id = await insurer(a, 'Blue Shield Test');
    for (const role of ['doctor', 'nurse', 'operator', 'manager'] as const) {
      const res = await call(role)({ method: 'GET', url: `/api/v1/insurers/${id}` });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id, name: 'Blue Shield Test', active: true, payerId: null });
    }
    const again = await call('admin')({
      method: 'POST',
      url: '/api/v1/insurers',
      payload: { name: 'Blue Shield Test' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toBe('an insurer with this name already exists');
    const operator = await call('operator')({ method: 'POST', url: '/api/v1/insurers', payload: { name: 'X' } });
    expect(operator.statusCode).toBe(403);
    const list = await call('nurse')({ method: 'GET', url: '/api/v1/insurers?active=true' });
    expect(list.json().data.map((i: { id: string }) => i.id)).toContain(id);
  });

  it('deactivates an insurer (PATCH active: false): it takes no new coverages', async () => {
    const id = await insurer();
    const res = await call('admin')({
      method: 'PATCH',
      url: `/api/v1/insurers/${id}`,
      payload: { active: false, phone: '+1 555 0100' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ active: false, phone: '+1 555 0100' });
    const patientId = await insertPatient(t.app, a);
    const refused = await coverage({
      patientId,
      insurerId: id,
      memberId: 'M1',
      priority: 'primary',
      validFrom: '2026-01-01',
    });
    expect(refused.statusCode).toBe(409);
    const inactive = await call('admin')({ method: 'GET', url: '/api/v1/insurers?active=false' });
    expect(inactive.json().data.map((i: { id: string }) => i.id)).toContain(id);
    expect((await call('admin')({ method: 'PATCH', url: `/api/v1/insurers/${id}`, payload: {} })).statusCode).toBe(400);
  });

  it("answers 404 for another tenant's insurer", async () => {
    const id = await insurer(b);
    expect((await call('admin')({ method: 'GET', url: `/api/v1/insurers/${id}` })).statusCode).toBe(404);
    const patch = await call('admin')({ method: 'PATCH', url: `/api/v1/insurers/${id}`, payload: { active: false } });
    expect(patch.statusCode).toBe(404);
  });
});

describe('coverages', () => {
  let insurerId: string;
  beforeAll(async () => {
    insurerId = await insurer();
  });
  const body = (patientId: string, extra: Record<string, unknown> = {}) => ({
    patientId,
    insurerId,
    memberId: 'M123456789',
    plan: 'Standard',
    priority: 'primary',
    validFrom: '2026-01-01',
    ...extra,
  });

  it('adds a coverage, audited with the patient; reads are audited too', async () => {
    const patientId = await insertPatient(t.app, a);
    const created = await newCoverage(body(patientId, { validTo: '2026-12-31', groupNumber: 'G-7' }));
    expect(created).toMatchObject({ patientId, insurerId, priority: 'primary', validTo: '2026-12-31', active: true });
    const one = await call('doctor')({ method: 'GET', url: `/api/v1/coverages/${created.id}` });
    expect(one.statusCode).toBe(200);
    const list = await call('manager')({ method: 'GET', url: `/api/v1/coverages?patientId=${patientId}` });
    expect(list.json().data).toHaveLength(1);
    const actions = await auditActions(patientId);
    expect(actions).toEqual(expect.arrayContaining(['coverages.create', 'coverages.read', 'coverages.list']));
  });

  it('refuses an overlapping active coverage of the same priority (409), not another priority or adjacent dates', async () => {
    const patientId = await insertPatient(t.app, a);
    const first = await newCoverage(body(patientId, { validTo: '2026-06-30' }));
    const overlap = await coverage(body(patientId, { validFrom: '2026-06-30' }));
    expect(overlap.statusCode).toBe(409);
    expect(overlap.json().error.message).toBe(
      `the patient already has an active primary coverage from 2026-01-01 to 2026-06-30 (coverage ${first.id})`,
    );
    await newCoverage(body(patientId, { validFrom: '2026-07-01' }));
    await newCoverage(body(patientId, { priority: 'secondary', validFrom: '2026-03-01' }));
    const openEnded = await coverage(body(patientId, { validFrom: '2030-01-01' }));
    expect(openEnded.statusCode).toBe(409);
  });

  it('refuses validTo before validFrom with 400, on create and on change', async () => {
    const patientId = await insertPatient(t.app, a);
    const res = await coverage(body(patientId, { validTo: '2025-12-31' }));
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe('body.validTo');
    const created = await newCoverage(body(patientId));
    const patch = await call('operator')({
      method: 'PATCH',
      url: `/api/v1/coverages/${created.id}`,
      payload: { validTo: '2025-06-01' },
    });
    expect(patch.statusCode).toBe(400);
  });

  it('ends and deactivates a coverage; a deactivated one overlaps nothing, but cannot come back into an overlap', async () => {
    const patientId = await insertPatient(t.app, a);
    const created = await newCoverage(body(patientId));
    const ended = await call('operator')({
      method: 'PATCH',
      url: `/api/v1/coverages/${created.id}`,
      payload: { validTo: '2026-03-31' },
    });
    expect(ended.json()).toMatchObject({ validTo: '2026-03-31', active: true });
    const off = await call('operator')({
      method: 'PATCH',
      url: `/api/v1/coverages/${created.id}`,
      payload: { active: false },
    });
    expect(off.json().active).toBe(false);
    await newCoverage(body(patientId, { validFrom: '2026-02-01' }));
    const back = await call('operator')({
      method: 'PATCH',
      url: `/api/v1/coverages/${created.id}`,
      payload: { active: true },
    });
    expect(back.statusCode).toBe(409);
    expect(await auditActions(patientId)).toEqual(expect.arrayContaining(['coverages.update', 'coverages.deactivate']));
  });

  it('lets only one of several racing overlapping coverages in', async () => {
    const patientId = await insertPatient(t.app, a);
    const answers = await Promise.all(Array.from({ length: 6 }, () => coverage(body(patientId))));
    const codes = answers.map((res) => res.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it("answers 404 for another tenant's patient, insurer and coverage", async () => {
    const bPatient = await insertPatient(t.app, b);
    const patient = await coverage(body(bPatient));
    expect(patient.statusCode).toBe(404);
    expect(patient.json().error.message).toBe('patient not found');
    const patientId = await insertPatient(t.app, a);
    const foreignInsurer = await coverage(body(patientId, { insurerId: await insurer(b) }));
    expect(foreignInsurer.statusCode).toBe(404);
    expect(foreignInsurer.json().error.message).toBe('insurer not found');
    const bCoverage = await newCoverage({ ...body(bPatient), insurerId: await insurer(b) }, b);
    for (const request of [
      { method: 'GET' as const, url: `/api/v1/coverages/${bCoverage.id}` },
      { method: 'PATCH' as const, url: `/api/v1/coverages/${bCoverage.id}`, payload: { active: false } },
    ]) {
      const res = await call('operator')(request);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.message).toBe('coverage not found');
    }
    const list = await call('operator')({ method: 'GET', url: `/api/v1/coverages?patientId=${bPatient}` });
    expect(list.json().data).toEqual([]);
  });

  it('is kept by operators and read by doctors and managers; nurses and admins neither', async () => {
    const patientId = await insertPatient(t.app, a);
    for (const role of ['doctor', 'manager', 'nurse', 'admin'] as const) {
      const res = await call(role)({ method: 'POST', url: '/api/v1/coverages', payload: body(patientId) });
      expect(res.statusCode, role).toBe(403);
    }
    for (const role of ['doctor', 'manager'] as const) {
      expect((await call(role)({ method: 'GET', url: '/api/v1/coverages' })).statusCode).toBe(200);
    }
    for (const role of ['nurse', 'admin'] as const) {
      expect((await call(role)({ method: 'GET', url: '/api/v1/coverages' })).statusCode).toBe(403);
    }
  });
});
