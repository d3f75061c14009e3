import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMedication,
  createPrescription,
  insertPatientWithAllergies,
} from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import type { Role } from '../../platform/permissions.js';
import {
  PRIOR_AUTH_ACTIONS,
  PRIOR_AUTH_MACHINE,
  PRIOR_AUTH_STATUSES,
  type PriorAuthAction,
  type PriorAuthStatus,
} from './prior-authorization-status.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
const now = new Date('2026-03-02T12:00:00.000Z');
let medicationId: string;
let insurerId: string;

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => now });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  medicationId = (await createMedication(t.app, a, { requiresPriorAuth: true })).id;
  const insurer = await call('admin')({ method: 'POST', url: '/api/v1/insurers', payload: { name: 'Payer One' } });
  insurerId = insurer.json().id;
});
afterAll(() => t.close());

const call = (role: Role, tenant: Tenant = a) => as(t.app, tenant.users[role].token);

interface PriorAuth {
  id: string;
  status: PriorAuthStatus;
  prescriptionId: string;
  patientId: string;
  coverageId: string | null;
}

/** A patient of tenant A with a coverage and an active prescription. */
async function prescribed(tenant: Tenant = a, medication = medicationId) {
  const patientId = await insertPatientWithAllergies(t.app, tenant);
  const prescription = await createPrescription(t.app, tenant, { patientId, medicationId: medication });
  let coverageId: string | undefined;
  if (tenant === a) {
    const coverage = await call('operator')({
      method: 'POST',
      url: '/api/v1/coverages',
      payload: { patientId, insurerId, memberId: 'M1', priority: 'primary', validFrom: '2026-01-01' },
    });
    expect(coverage.statusCode, coverage.body).toBe(201);
    coverageId = coverage.json().id;
  }
  return { patientId, prescriptionId: prescription.id, coverageId };
}

async function draft(payload: Record<string, unknown>, role: Role = 'doctor', tenant: Tenant = a): Promise<PriorAuth> {
  const res = await call(role, tenant)({ method: 'POST', url: '/api/v1/prior-authorizations', payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

function act(id: string, action: PriorAuthAction, role?: Role) {
  const payload = action === 'deny' ? { notes: 'Step therapy required first' } : {};
  const who = role ?? (action === 'submit' ? 'doctor' : 'operator');
  return call(who)({ method: 'POST', url: `/api/v1/prior-authorizations/${id}/${action}`, payload });
}

const PATHS: Record<PriorAuthStatus, PriorAuthAction[]> = {
  draft: [],
  submitted: ['submit'],
  approved: ['submit', 'approve'],
  denied: ['submit', 'deny'],
};

async function auditActions(patientId: string): Promise<string[]> {
  const res = await call('admin')({ method: 'GET', url: `/api/v1/audit-events?patientId=${patientId}&limit=100` });
  return res.json<{ data: { action: string }[] }>().data.map((event) => event.action);
}

describe('the prior-authorization status machine', () => {
  it('allows exactly the transitions of its table, from every status, and 409 names the status otherwise', async () => {
    for (const status of PRIOR_AUTH_STATUSES) {
      for (const action of PRIOR_AUTH_ACTIONS) {
        const { prescriptionId, coverageId } = await prescribed();
        const pa = await draft({ prescriptionId, coverageId });
        for (const step of PATHS[status]) expect((await act(pa.id, step)).statusCode).toBe(200);
        const res = await act(pa.id, action);
        const next = PRIOR_AUTH_MACHINE[status][action];
        if (next) {
          expect(res.statusCode, `${status} -> ${action}`).toBe(200);
          expect(res.json().status).toBe(next);
        } else {
          expect(res.statusCode, `${status} -> ${action}`).toBe(409);
          expect(res.json().error.message).toMatch(new RegExp(`^the prior authorization is ${status}: it cannot be`));
        }
      }
    }
  }, 180_000);

  it('records the submission and the decision with who and when, audited with the patient', async () => {
    const { prescriptionId, coverageId, patientId } = await prescribed();
    const pa = await draft({ prescriptionId, justification: 'Failed metformin' }, 'operator');
    expect(pa).toMatchObject({ status: 'draft', coverageId: null, patientId, prescriptionId });
    const noCoverage = await act(pa.id, 'submit');
    expect(noCoverage.statusCode).toBe(409);
    expect(noCoverage.json().error.message).toBe('the prior authorization has no coverage to go to: give coverageId');
    const submitted = await call('doctor')({
      method: 'POST',
      url: `/api/v1/prior-authorizations/${pa.id}/submit`,
      payload: { coverageId },
    });
    expect(submitted.json()).toMatchObject({
      status: 'submitted',
      coverageId,
      submittedAt: now.toISOString(),
      submittedBy: a.users.doctor.id,
    });
    const approved = await call('operator')({
      method: 'POST',
      url: `/api/v1/prior-authorizations/${pa.id}/approve`,
      payload: { notes: 'Approved for 12 months', authorizationNumber: 'PA-12345678', validUntil: '2027-03-01' },
    });
    expect(approved.json()).toMatchObject({
      status: 'approved',
      decisionNotes: 'Approved for 12 months',
      authorizationNumber: 'PA-12345678',
      validUntil: '2027-03-01',
      decidedAt: now.toISOString(),
      decidedBy: a.users.operator.id,
    });
    const actions = await auditActions(patientId);
    expect(actions).toEqual(
      expect.arrayContaining([
        'prior-authorizations.create',
        'prior-authorizations.submit',
        'prior-authorizations.approve',
      ]),
    );
  });

  it('needs notes to deny and a validUntil not in the past to approve', async () => {
    const { prescriptionId, coverageId } = await prescribed();
    const pa = await draft({ prescriptionId, coverageId });
    await act(pa.id, 'submit');
    const url = `/api/v1/prior-authorizations/${pa.id}`;
    expect((await call('operator')({ method: 'POST', url: `${url}/deny`, payload: {} })).statusCode).toBe(400);
    const past = await call('operator')({
      method: 'POST',
      url: `${url}/approve`,
      payload: { validUntil: '2026-03-01' },
    });
    expect(past.statusCode).toBe(400);
  });
});

describe('requests per prescription', () => {
  it('keeps one open request per prescription; after a decision a new draft may follow', async () => {
    const { prescriptionId, coverageId } = await prescribed();
    const first = await draft({ prescriptionId, coverageId });
    const second = await call('doctor')({
      method: 'POST',
      url: '/api/v1/prior-authorizations',
      payload: { prescriptionId },
    });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.message).toBe(`the prescription already has an open prior authorization (${first.id})`);
    await act(first.id, 'submit');
    await act(first.id, 'deny');
    const retry = await draft({ prescriptionId, coverageId, justification: 'After step therapy' });
    const list = await call('manager')({
      method: 'GET',
      url: `/api/v1/prior-authorizations?prescriptionId=${prescriptionId}`,
    });
    expect(
      list
        .json()
        .data.map((p: PriorAuth) => p.status)
        .sort(),
    ).toEqual(['denied', 'draft']);
    const drafts = await call('manager')({
      method: 'GET',
      url: `/api/v1/prior-authorizations?prescriptionId=${prescriptionId}&status=draft`,
    });
    expect(drafts.json().data.map((p: PriorAuth) => p.id)).toEqual([retry.id]);
  });

  it('lets only one of several racing drafts for one prescription in', async () => {
    const { prescriptionId } = await prescribed();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('doctor')({ method: 'POST', url: '/api/v1/prior-authorizations', payload: { prescriptionId } }),
      ),
    );
    expect(answers.map((res) => res.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it("shows each prescription's latest state on the prescription (app.priorAuthorizations.latestFor)", async () => {
    const { prescriptionId, coverageId } = await prescribed();
    const read = async () =>
      (await call('doctor')({ method: 'GET', url: `/api/v1/prescriptions/${prescriptionId}` })).json()
        .priorAuthorization;
    expect(await read()).toBeNull();
    const pa = await draft({ prescriptionId, coverageId });
    expect(await read()).toEqual({ id: pa.id, status: 'draft' });
    await act(pa.id, 'submit');
    await act(pa.id, 'deny');
    const again = await draft({ prescriptionId, coverageId });
    // The open request is the latest, also when both were made at the same instant (a frozen clock).
    expect(await read()).toEqual({ id: again.id, status: 'draft' });
    const states = await t.app.priorAuthorizations.latestFor(
      {
        requestId: 'test',
        user: { id: a.users.doctor.id, email: a.users.doctor.email, name: 'doctor', platformAdmin: false },
        authMethod: 'bearer',
        sessionId: 'test',
        apiKeyId: null,
        client: { ip: null, userAgent: null },
        memberships: [{ organizationId: b.organizationId, role: 'doctor' }],
        organizationId: b.organizationId,
        role: 'doctor',
      },
      [prescriptionId],
    );
    expect(states.size).toBe(0);
  });

  it("refuses a cancelled prescription (409), a prescription or coverage of another tenant (404), another patient's coverage (400)", async () => {
    const { prescriptionId, coverageId } = await prescribed();
    const cancel = await call('doctor')({
      method: 'POST',
      url: `/api/v1/prescriptions/${prescriptionId}/cancel`,
      payload: { reason: 'Switched' },
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const cancelled = await call('doctor')({
      method: 'POST',
      url: '/api/v1/prior-authorizations',
      payload: { prescriptionId },
    });
    expect(cancelled.statusCode).toBe(409);
    const bMedication = await createMedication(t.app, b);
    const foreign = await prescribed(b, bMedication.id);
    const other = await call('doctor')({
      method: 'POST',
      url: '/api/v1/prior-authorizations',
      payload: { prescriptionId: foreign.prescriptionId },
    });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.message).toBe('prescription not found');
    const mine = await prescribed();
    const wrongPatient = await call('doctor')({
      method: 'POST',
      url: '/api/v1/prior-authorizations',
      payload: { prescriptionId: mine.prescriptionId, coverageId },
    });
    expect(wrongPatient.statusCode).toBe(400);
    const missing = await call('doctor')({
      method: 'POST',
      url: '/api/v1/prior-authorizations',
      payload: { prescriptionId: mine.prescriptionId, coverageId: 'no-such-coverage' },
    });
    expect(missing.statusCode).toBe(404);
  });
});

describe('security', () => {
  it('doctors and operators request, only operators decide, managers read, nurses and admins see none', async () => {
    const { prescriptionId, coverageId } = await prescribed();
    const pa = await draft({ prescriptionId, coverageId }, 'doctor');
    for (const role of ['nurse', 'manager', 'admin'] as const) {
      const res = await call(role)({
        method: 'POST',
        url: '/api/v1/prior-authorizations',
        payload: { prescriptionId },
      });
      expect(res.statusCode, role).toBe(403);
    }
    await act(pa.id, 'submit');
    expect((await act(pa.id, 'approve', 'doctor')).statusCode).toBe(403);
    expect((await act(pa.id, 'deny', 'manager')).statusCode).toBe(403);
    expect((await call('manager')({ method: 'GET', url: `/api/v1/prior-authorizations/${pa.id}` })).statusCode).toBe(
      200,
    );
    for (const role of ['nurse', 'admin'] as const) {
      expect((await call(role)({ method: 'GET', url: '/api/v1/prior-authorizations' })).statusCode).toBe(403);
    }
  });

  it('answers 404 to another tenant on every route that names a prior authorization', async () => {
    const { prescriptionId, coverageId, patientId } = await prescribed();
    const pa = await draft({ prescriptionId, coverageId });
    const url = `/api/v1/prior-authorizations/${pa.id}`;
    for (const [method, path, payload] of [
      ['GET', '', undefined],
      ['POST', '/submit', {}],
      ['POST', '/approve', {}],
      ['POST', '/deny', { notes: 'No' }],
    ] as const) {
      const res = await call('operator', b)({ method, url: `${url}${path}`, payload });
      expect(res.statusCode, path).toBe(404);
      expect(res.json().error.message).toBe('prior authorization not found');
    }
    const list = await call(
      'operator',
      b,
    )({ method: 'GET', url: `/api/v1/prior-authorizations?patientId=${patientId}` });
    expect(list.json().data).toEqual([]);
    const reads = await call('manager')({ method: 'GET', url: url });
    expect(reads.json().status).toBe('draft');
    expect(await auditActions(patientId)).toContain('prior-authorizations.read');
  });
});
