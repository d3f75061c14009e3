import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMedication,
  createPrescription,
  insertEncounter,
  insertPatientWithAllergies,
} from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { prescriptions } from './prescriptions.schema.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
let patientId: string;
let allergicId: string;
let medicationId: string;
let amoxicillinId: string;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  patientId = await insertPatientWithAllergies(t.app, a);
  allergicId = await insertPatientWithAllergies(t.app, a, [
    { substance: 'Penicillin', severity: 'life-threatening', reaction: 'anaphylaxis' },
    { substance: 'Peanuts' },
  ]);
  medicationId = (await createMedication(t.app, a, { name: 'Paracetamol' })).id;
  amoxicillinId = (
    await createMedication(t.app, a, { name: 'Amoxicillin', ingredients: ['amoxicillin', 'penicillin'] })
  ).id;
});
afterAll(() => t.close());

const doctor = () => as(t.app, a.users.doctor.token);
const rx = (extra: Record<string, unknown>) => ({
  dose: '500 mg',
  route: 'oral',
  frequency: 'every 8 hours',
  durationDays: 7,
  quantity: 21,
  refills: 1,
  ...extra,
});
const eventsOf = (where: { resourceId?: string; patientId?: string }) =>
  t.database.db
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.organizationId, a.organizationId),
        where.resourceId ? eq(auditEvents.resourceId, where.resourceId) : undefined,
        where.patientId ? eq(auditEvents.patientId, where.patientId) : undefined,
      ),
    )
    .orderBy(auditEvents.seq);

describe('POST /api/v1/prescriptions', () => {
  it('writes a prescription for a doctor, audited with the patient', async () => {
    const encounterId = await insertEncounter(t.app, a, patientId);
    const res = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId, encounterId, medicationId, instructions: 'With food' }),
    });
    expect(res.statusCode, res.body).toBe(201);
    const prescription = res.json();
    expect(prescription).toMatchObject({
      patientId,
      encounterId,
      medicationId,
      prescriberId: a.users.doctor.id,
      status: 'active',
      quantity: 21,
      refills: 1,
      dispensedQuantity: 0,
      maxDispensable: 42,
      requiresPriorAuth: false,
      priorAuthorization: null,
      overrideReason: null,
      overriddenAllergies: null,
      instructions: 'With food',
    });
    const events = await eventsOf({ resourceId: prescription.id });
    expect(events.map((e) => [e.action, e.patientId, e.actorId])).toEqual([
      ['prescriptions.create', patientId, a.users.doctor.id],
    ]);
  });

  it('copies requiresPriorAuth from the medication', async () => {
    const med = await createMedication(t.app, a, { name: 'Adalimumab', requiresPriorAuth: true });
    const prescription = await createPrescription(t.app, a, { patientId, medicationId: med.id });
    expect(prescription).toMatchObject({ requiresPriorAuth: true, priorAuthorization: null });
  });

  it("refuses a medication matching the patient's allergy with 409 naming the allergy, and audits the refusal", async () => {
    const res = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId: allergicId, medicationId: amoxicillinId }),
    });
    expect(res.statusCode).toBe(409);
    const error = res.json().error;
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('"Penicillin"');
    expect(error.message).not.toContain('Peanuts');
    expect(error.message).not.toContain('anaphylaxis');
    expect(error.details).toEqual([{ path: 'body.medicationId', message: 'allergy: Penicillin (life-threatening)' }]);
    const rows = await t.database.db.select().from(prescriptions).where(eq(prescriptions.patientId, allergicId));
    expect(rows).toEqual([]);
    const events = await eventsOf({ patientId: allergicId });
    expect(events.map((e) => [e.action, e.outcome])).toEqual(
      expect.arrayContaining([
        ['patients.read', 'success'],
        ['prescriptions.allergy-conflict', 'denied'],
      ]),
    );
  });

  it('matches case-insensitively, on the name too (allergy "amoxicillin" against Amoxicillin with no ingredients)', async () => {
    const patient = await insertPatientWithAllergies(t.app, a, [{ substance: 'AMOXICILLIN' }]);
    const plain = await createMedication(t.app, a, { name: 'amoxicillin trihydrate' });
    const res = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId: patient, medicationId: plain.id }),
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toContain('"AMOXICILLIN"');
  });

  it('writes it with overrideReason, keeping the reason and the overridden allergies, with an extra audit event', async () => {
    const res = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({
        patientId: allergicId,
        medicationId: amoxicillinId,
        overrideReason: 'Tolerated a graded challenge in 2024',
      }),
    });
    expect(res.statusCode, res.body).toBe(201);
    const prescription = res.json();
    expect(prescription).toMatchObject({
      overrideReason: 'Tolerated a graded challenge in 2024',
      overriddenAllergies: [{ substance: 'Penicillin', severity: 'life-threatening' }],
    });
    const read = await doctor()({ method: 'GET', url: `/api/v1/prescriptions/${prescription.id}` });
    expect(read.json().overriddenAllergies).toEqual([{ substance: 'Penicillin', severity: 'life-threatening' }]);
    const events = await eventsOf({ resourceId: prescription.id });
    expect(events.map((e) => [e.action, e.patientId])).toEqual([
      ['prescriptions.create', allergicId],
      ['prescriptions.allergy-override', allergicId],
      ['prescriptions.read', allergicId],
    ]);
  });

  it('keeps no override reason when nothing conflicts', async () => {
    const prescription = await createPrescription(t.app, a, {
      patientId,
      medicationId,
      overrideReason: 'just in case',
    });
    expect(prescription).toMatchObject({ overrideReason: null, overriddenAllergies: null });
  });

  it('answers 409 for a deactivated medication or an archived patient, or a signed encounter', async () => {
    const med = await createMedication(t.app, a, { name: 'Old drug' });
    await as(
      t.app,
      a.users.admin.token,
    )({ method: 'PATCH', url: `/api/v1/medications/${med.id}`, payload: { active: false } });
    const inactive = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId, medicationId: med.id }),
    });
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json().error.message).toBe('the medication is deactivated: it cannot be prescribed');
    const archived = await insertPatientWithAllergies(t.app, a, [], 'archived');
    const toArchived = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId: archived, medicationId }),
    });
    expect(toArchived.statusCode).toBe(409);
    expect(toArchived.json().error.message).toBe('the patient is archived: no new prescriptions for them');
    const signed = await insertEncounter(t.app, a, patientId, 'signed');
    const inSigned = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId, medicationId, encounterId: signed }),
    });
    expect(inSigned.statusCode).toBe(409);
  });

  it("answers 400 for another patient's encounter and for bad input", async () => {
    const other = await insertPatientWithAllergies(t.app, a);
    const encounterId = await insertEncounter(t.app, a, other);
    const res = await doctor()({
      method: 'POST',
      url: '/api/v1/prescriptions',
      payload: rx({ patientId, medicationId, encounterId }),
    });
    expect(res.statusCode).toBe(400);
    for (const payload of [
      rx({ patientId, medicationId, quantity: 0 }),
      rx({ patientId, medicationId, refills: -1 }),
      rx({ patientId, medicationId, durationDays: 1.5 }),
      rx({ patientId, medicationId, extra: true }),
      { patientId, medicationId },
    ]) {
      const bad = await doctor()({ method: 'POST', url: '/api/v1/prescriptions', payload });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it("answers 404 for another organization's patient, medication or encounter", async () => {
    const theirPatient = await insertPatientWithAllergies(t.app, b);
    const theirMedication = (await createMedication(t.app, b)).id;
    const theirEncounter = await insertEncounter(t.app, b, theirPatient);
    for (const [payload, field] of [
      [rx({ patientId: theirPatient, medicationId }), 'patient'],
      [rx({ patientId, medicationId: theirMedication }), 'medication'],
      [rx({ patientId, medicationId, encounterId: theirEncounter }), 'encounter'],
    ] as const) {
      const res = await doctor()({ method: 'POST', url: '/api/v1/prescriptions', payload });
      expect(res.statusCode, field).toBe(404);
      expect(res.json().error.message).toBe(`${field} not found`);
    }
  });

  it('is for doctors only: a nurse, operator, manager or admin gets 403', async () => {
    for (const role of ['nurse', 'operator', 'manager', 'admin'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({
        method: 'POST',
        url: '/api/v1/prescriptions',
        payload: rx({ patientId, medicationId }),
      });
      expect(res.statusCode, role).toBe(403);
    }
  });
});

describe('GET /api/v1/prescriptions', () => {
  it('lists by patient and status to the clinical roles, audited with its patients; admins get 403', async () => {
    const patient = await insertPatientWithAllergies(t.app, a);
    const one = await createPrescription(t.app, a, { patientId: patient, medicationId });
    const two = await createPrescription(t.app, a, { patientId: patient, medicationId });
    await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${two.id}/complete` });
    for (const role of ['doctor', 'nurse', 'manager', 'operator'] as const) {
      const res = await as(
        t.app,
        a.users[role].token,
      )({ method: 'GET', url: `/api/v1/prescriptions?patientId=${patient}` });
      expect(res.statusCode, role).toBe(200);
      expect(res.json().data.map((p: { id: string }) => p.id)).toEqual([one.id, two.id]);
    }
    const active = await doctor()({ method: 'GET', url: `/api/v1/prescriptions?patientId=${patient}&status=active` });
    expect(active.json().data.map((p: { id: string }) => p.id)).toEqual([one.id]);
    const admin = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/prescriptions' });
    expect(admin.statusCode).toBe(403);
    const events = await eventsOf({ patientId: patient });
    expect(events.filter((e) => e.action === 'prescriptions.list')).toHaveLength(5);
  });

  it("shows nothing of another organization's, even filtered by its patient", async () => {
    const theirPatient = await insertPatientWithAllergies(t.app, b);
    const theirMed = await createMedication(t.app, b);
    const theirs = await createPrescription(t.app, b, { patientId: theirPatient, medicationId: theirMed.id });
    const res = await doctor()({ method: 'GET', url: `/api/v1/prescriptions?patientId=${theirPatient}` });
    expect(res.json().data).toEqual([]);
    const one = await doctor()({ method: 'GET', url: `/api/v1/prescriptions/${theirs.id}` });
    expect(one.statusCode).toBe(404);
  });
});

describe('the status machine: complete and cancel', () => {
  it('completes an active prescription; a second complete or a cancel after it is 409', async () => {
    const p = await createPrescription(t.app, a, { patientId, medicationId });
    const done = await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/complete` });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ status: 'completed', completedAt: expect.any(String) });
    const again = await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/complete` });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toBe('the prescription is completed: it cannot be completed');
    const cancel = await doctor()({
      method: 'POST',
      url: `/api/v1/prescriptions/${p.id}/cancel`,
      payload: { reason: 'x' },
    });
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json().error.message).toBe('the prescription is completed: it cannot be cancelled');
  });

  it('cancels an active prescription with its reason; completing or cancelling it again is 409', async () => {
    const p = await createPrescription(t.app, a, { patientId, medicationId });
    const res = await doctor()({
      method: 'POST',
      url: `/api/v1/prescriptions/${p.id}/cancel`,
      payload: { reason: 'Switched to ibuprofen' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'cancelled',
      cancelReason: 'Switched to ibuprofen',
      cancelledBy: a.users.doctor.id,
      cancelledAt: expect.any(String),
    });
    for (const [action, payload] of [
      ['complete', undefined],
      ['cancel', { reason: 'again' }],
    ] as const) {
      const again = await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/${action}`, payload });
      expect(again.statusCode, action).toBe(409);
      expect(again.json().error.message).toMatch(/^the prescription is cancelled: it cannot be/);
    }
    const events = await eventsOf({ resourceId: p.id });
    expect(events.map((e) => e.action)).toEqual(['prescriptions.create', 'prescriptions.cancel']);
  });

  it('needs a reason to cancel, refuses a body on complete, and 404s for unknown or foreign ids', async () => {
    const p = await createPrescription(t.app, a, { patientId, medicationId });
    expect(
      (await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/cancel`, payload: {} })).statusCode,
    ).toBe(400);
    expect(
      (await doctor()({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/complete`, payload: { status: 'x' } }))
        .statusCode,
    ).toBe(400);
    const other = as(t.app, b.users.doctor.token);
    expect((await other({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/complete` })).statusCode).toBe(404);
    expect(
      (await other({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/cancel`, payload: { reason: 'x' } }))
        .statusCode,
    ).toBe(404);
    const nurse = as(t.app, a.users.nurse.token);
    expect((await nurse({ method: 'POST', url: `/api/v1/prescriptions/${p.id}/complete` })).statusCode).toBe(403);
    const still = await doctor()({ method: 'GET', url: `/api/v1/prescriptions/${p.id}` });
    expect(still.json().status).toBe('active');
  });
});

describe('app.prescriptions.get and the prior-authorization state', () => {
  it('reads through another module, and shows the latest prior authorization when that module answers', async () => {
    const p = await createPrescription(t.app, a, { patientId, medicationId });
    const app = t.app as unknown as { priorAuthorizations?: { latestFor?: unknown } };
    const real = app.priorAuthorizations;
    const fake = {
      ...real,
      latestFor: async (_ctx: unknown, ids: string[]) =>
        new Map(ids.map((id) => [id, { id: `pa-${id}`, status: 'approved' }])),
    };
    Object.defineProperty(t.app, 'priorAuthorizations', { value: fake, configurable: true, writable: true });
    try {
      const res = await doctor()({ method: 'GET', url: `/api/v1/prescriptions/${p.id}` });
      expect(res.json().priorAuthorization).toEqual({ id: `pa-${p.id}`, status: 'approved' });
    } finally {
      Object.defineProperty(t.app, 'priorAuthorizations', { value: real, configurable: true, writable: true });
    }
  });
});
