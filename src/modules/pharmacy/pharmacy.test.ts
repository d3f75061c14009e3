import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMedication,
  createPrescription,
  insertPatientWithAllergies,
} from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { stockMovements } from './pharmacy.schema.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
let patientId: string;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  patientId = await insertPatientWithAllergies(t.app, a);
});
afterAll(() => t.close());

const call = (role: keyof Tenant['users'], tenant: Tenant = a) => as(t.app, tenant.users[role].token);
let names = 0;

async function location(tenant: Tenant = a, body: Record<string, unknown> = {}): Promise<string> {
  const res = await call(
    'admin',
    tenant,
  )({
    method: 'POST',
    url: '/api/v1/pharmacy/locations',
    payload: { name: `Cabinet ${++names}-${Date.now()}`, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

function move(payload: Record<string, unknown>, role: keyof Tenant['users'] = 'nurse', tenant: Tenant = a) {
  return call(role, tenant)({ method: 'POST', url: '/api/v1/pharmacy/movements', payload });
}

async function receive(locationId: string, medicationId: string, quantity: number, tenant: Tenant = a) {
  const res = await move(
    { type: 'receive', locationId, medicationId, quantity, lot: 'L-1', expiresOn: '2027-06-30' },
    'nurse',
    tenant,
  );
  expect(res.statusCode, res.body).toBe(201);
  return res.json().movements[0];
}

async function onHand(locationId: string, medicationId: string): Promise<number> {
  const res = await call('manager')({
    method: 'GET',
    url: `/api/v1/pharmacy/stock?locationId=${locationId}&medicationId=${medicationId}`,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data[0]?.onHand ?? 0;
}

describe('pharmacy locations', () => {
  it('are added, read, renamed and deactivated by admins and managers, read by every pharmacy reader', async () => {
    const hospital = await call('admin')({
      method: 'POST',
      url: '/api/v1/hospitals',
      payload: { name: `H ${Date.now()}` },
    });
    const id = await location(a, { hospitalId: hospital.json().id });
    for (const role of ['admin', 'manager', 'doctor', 'nurse'] as const) {
      const res = await call(role)({ method: 'GET', url: `/api/v1/pharmacy/locations/${id}` });
      expect(res.statusCode, role).toBe(200);
      expect(res.json()).toMatchObject({ id, hospitalId: hospital.json().id, active: true });
    }
    const renamed = await call('manager')({
      method: 'PATCH',
      url: `/api/v1/pharmacy/locations/${id}`,
      payload: { name: `Renamed ${id}`, active: false },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: `Renamed ${id}`, active: false });
    const list = await call('nurse')({ method: 'GET', url: '/api/v1/pharmacy/locations?active=false' });
    expect(list.json().data.map((l: { id: string }) => l.id)).toContain(id);
    const events = await t.database.db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, id)))
      // In the order they joined the chain (a table scan keeps none).
      .orderBy(auditEvents.seq);
    expect(events.map((e) => e.action)).toEqual([
      'pharmacy-locations.create',
      'pharmacy-locations.deactivate',
      'pharmacy-locations.update',
    ]);
  });

  it('refuse a duplicate name (409), a foreign hospital (404), and callers without pharmacy:manage (403)', async () => {
    const name = `Dup ${Date.now()}`;
    await location(a, { name });
    const dup = await call('admin')({ method: 'POST', url: '/api/v1/pharmacy/locations', payload: { name } });
    expect(dup.statusCode).toBe(409);
    const theirHospital = await call(
      'admin',
      b,
    )({ method: 'POST', url: '/api/v1/hospitals', payload: { name: `HB ${Date.now()}` } });
    const foreign = await call('admin')({
      method: 'POST',
      url: '/api/v1/pharmacy/locations',
      payload: { name: `X ${Date.now()}`, hospitalId: theirHospital.json().id },
    });
    expect(foreign.statusCode).toBe(404);
    for (const role of ['doctor', 'nurse', 'operator'] as const) {
      const res = await call(role)({
        method: 'POST',
        url: '/api/v1/pharmacy/locations',
        payload: { name: `R ${role}` },
      });
      expect(res.statusCode, role).toBe(403);
    }
    expect((await call('operator')({ method: 'GET', url: '/api/v1/pharmacy/locations' })).statusCode).toBe(403);
  });

  it("answer 404 for another organization's location", async () => {
    const theirs = await location(b);
    expect((await call('admin')({ method: 'GET', url: `/api/v1/pharmacy/locations/${theirs}` })).statusCode).toBe(404);
    const patch = await call('admin')({
      method: 'PATCH',
      url: `/api/v1/pharmacy/locations/${theirs}`,
      payload: { active: false },
    });
    expect(patch.statusCode).toBe(404);
    expect(
      (await call('manager')({ method: 'GET', url: `/api/v1/pharmacy/stock?locationId=${theirs}` })).statusCode,
    ).toBe(404);
  });
});

describe('receive, adjust and transfer', () => {
  it('moves stock and keeps on hand equal to the ledger, each movement audited', async () => {
    const from = await location();
    const to = await location();
    const med = (await createMedication(t.app, a)).id;
    const received = await receive(from, med, 30);
    expect(received).toMatchObject({
      type: 'receive',
      quantity: 30,
      balanceAfter: 30,
      lot: 'L-1',
      expiresOn: '2027-06-30',
    });
    const adjusted = await move({
      type: 'adjust',
      locationId: from,
      medicationId: med,
      quantity: 4,
      direction: 'decrease',
      reason: 'Broken vials',
    });
    expect(adjusted.statusCode, adjusted.body).toBe(201);
    expect(adjusted.json().movements[0]).toMatchObject({ quantity: -4, balanceAfter: 26, reason: 'Broken vials' });
    const up = await move(
      { type: 'adjust', locationId: from, medicationId: med, quantity: 1, direction: 'increase', reason: 'Recount' },
      'manager',
    );
    expect(up.json().movements[0]).toMatchObject({ quantity: 1, balanceAfter: 27 });
    const moved = await move({ type: 'transfer', locationId: from, toLocationId: to, medicationId: med, quantity: 7 });
    expect(moved.statusCode, moved.body).toBe(201);
    const [out, into] = moved.json().movements;
    expect(out).toMatchObject({ locationId: from, quantity: -7, balanceAfter: 20 });
    expect(into).toMatchObject({ locationId: to, quantity: 7, balanceAfter: 7, transferId: out.transferId });
    expect(await onHand(from, med)).toBe(20);
    expect(await onHand(to, med)).toBe(7);
    const ledger = await call('doctor')({ method: 'GET', url: `/api/v1/pharmacy/movements?medicationId=${med}` });
    const quantities = ledger.json().data.map((m: { quantity: number }) => m.quantity);
    // The two rows of a transfer share their time; which is listed first is up to their ids.
    expect(quantities.slice(0, 3)).toEqual([30, -4, 1]);
    expect(quantities.slice(3).sort()).toEqual([-7, 7].sort());
    const events = await t.database.db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceType, 'stock-movement')));
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['stock.receive', 'stock.adjust', 'stock.transfer']),
    );
  });

  it('refuses to go below zero with 409 naming requested and available, and changes nothing', async () => {
    const loc = await location();
    const other = await location();
    const med = (await createMedication(t.app, a)).id;
    await receive(loc, med, 3);
    const adjust = await move({
      type: 'adjust',
      locationId: loc,
      medicationId: med,
      quantity: 5,
      direction: 'decrease',
      reason: 'Count',
    });
    expect(adjust.statusCode).toBe(409);
    expect(adjust.json().error.message).toBe('insufficient stock: 5 requested, 3 available at this location');
    const transfer = await move({
      type: 'transfer',
      locationId: loc,
      toLocationId: other,
      medicationId: med,
      quantity: 4,
    });
    expect(transfer.statusCode).toBe(409);
    const never = await move({
      type: 'transfer',
      locationId: other,
      toLocationId: loc,
      medicationId: med,
      quantity: 1,
    });
    expect(never.json().error.message).toBe('insufficient stock: 1 requested, 0 available at this location');
    expect(await onHand(loc, med)).toBe(3);
    expect(await onHand(other, med)).toBe(0);
    const rows = await t.database.db.select().from(stockMovements).where(eq(stockMovements.medicationId, med));
    expect(rows).toHaveLength(1);
  });

  it('refuses bad movements: zero or fractional quantities, a missing lot or reason, a transfer to itself, unknown keys', async () => {
    const loc = await location();
    const med = (await createMedication(t.app, a)).id;
    for (const payload of [
      { type: 'receive', locationId: loc, medicationId: med, quantity: 0, lot: 'L', expiresOn: '2027-01-01' },
      { type: 'receive', locationId: loc, medicationId: med, quantity: 1.5, lot: 'L', expiresOn: '2027-01-01' },
      { type: 'receive', locationId: loc, medicationId: med, quantity: 1, expiresOn: '2027-01-01' },
      { type: 'receive', locationId: loc, medicationId: med, quantity: 1, lot: 'L', expiresOn: '2027-02-30' },
      { type: 'adjust', locationId: loc, medicationId: med, quantity: 1, direction: 'decrease' },
      { type: 'adjust', locationId: loc, medicationId: med, quantity: -1, reason: 'x' },
      { type: 'dispense', locationId: loc, medicationId: med, quantity: 1 },
      { type: 'transfer', locationId: loc, toLocationId: loc, medicationId: med, quantity: 1 },
      { type: 'steal', locationId: loc, medicationId: med, quantity: 1 },
      {
        type: 'receive',
        locationId: loc,
        medicationId: med,
        quantity: 1,
        lot: 'L',
        expiresOn: '2027-01-01',
        patientId,
      },
    ]) {
      const res = await move(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('refuses receipts into a deactivated location or of a deactivated medication (409)', async () => {
    const loc = await location();
    const med = (await createMedication(t.app, a)).id;
    await call('admin')({ method: 'PATCH', url: `/api/v1/pharmacy/locations/${loc}`, payload: { active: false } });
    const res = await move({
      type: 'receive',
      locationId: loc,
      medicationId: med,
      quantity: 1,
      lot: 'L',
      expiresOn: '2027-01-01',
    });
    expect(res.statusCode).toBe(409);
    const open = await location();
    await call('admin')({ method: 'PATCH', url: `/api/v1/medications/${med}`, payload: { active: false } });
    const old = await move({
      type: 'receive',
      locationId: open,
      medicationId: med,
      quantity: 1,
      lot: 'L',
      expiresOn: '2027-01-01',
    });
    expect(old.statusCode).toBe(409);
  });

  it("answers 404 for another organization's location, destination or medication", async () => {
    const mine = await location();
    const theirs = await location(b);
    const med = (await createMedication(t.app, a)).id;
    const theirMed = (await createMedication(t.app, b)).id;
    await receive(mine, med, 5);
    for (const payload of [
      { type: 'receive', locationId: theirs, medicationId: med, quantity: 1, lot: 'L', expiresOn: '2027-01-01' },
      { type: 'receive', locationId: mine, medicationId: theirMed, quantity: 1, lot: 'L', expiresOn: '2027-01-01' },
      { type: 'transfer', locationId: mine, toLocationId: theirs, medicationId: med, quantity: 1 },
    ]) {
      const res = await move(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(404);
    }
    expect(await onHand(mine, med)).toBe(5);
  });

  it('is for stock keepers: doctors, operators and admins get 403', async () => {
    const loc = await location();
    const med = (await createMedication(t.app, a)).id;
    for (const role of ['doctor', 'operator', 'admin'] as const) {
      const res = await move(
        { type: 'receive', locationId: loc, medicationId: med, quantity: 1, lot: 'L', expiresOn: '2027-01-01' },
        role,
      );
      expect(res.statusCode, role).toBe(403);
    }
  });
});

describe('dispense', () => {
  async function stocked(quantity: number, medication: Record<string, unknown> = {}) {
    const loc = await location();
    const med = (await createMedication(t.app, a, medication)).id;
    await receive(loc, med, quantity);
    return { loc, med };
  }

  it('dispenses against an active prescription: stock down, prescription counted, patient on the movement and audit', async () => {
    const { loc, med } = await stocked(50);
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 10, refills: 1 });
    const res = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 10,
      prescriptionId: rx.id,
    });
    expect(res.statusCode, res.body).toBe(201);
    const movement = res.json().movements[0];
    expect(movement).toMatchObject({
      type: 'dispense',
      quantity: -10,
      balanceAfter: 40,
      prescriptionId: rx.id,
      patientId,
    });
    const after = await call('doctor')({ method: 'GET', url: `/api/v1/prescriptions/${rx.id}` });
    expect(after.json()).toMatchObject({ dispensedQuantity: 10, status: 'active' });
    const events = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, movement.id)));
    expect(events.map((e) => [e.action, e.patientId, e.actorId])).toEqual([
      ['stock.dispense', patientId, a.users.nurse.id],
    ]);

    // The refill: reaching quantity x (refills + 1) completes the prescription; anything more is 409.
    const refill = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 10,
      prescriptionId: rx.id,
    });
    expect(refill.statusCode, refill.body).toBe(201);
    const done = await call('doctor')({ method: 'GET', url: `/api/v1/prescriptions/${rx.id}` });
    expect(done.json()).toMatchObject({ dispensedQuantity: 20, status: 'completed', completedAt: expect.any(String) });
    const more = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 1,
      prescriptionId: rx.id,
    });
    expect(more.statusCode).toBe(409);
    expect(more.json().error.message).toBe('the prescription is completed: nothing more is dispensed against it');
    expect(await onHand(loc, med)).toBe(30);
  });

  it('refuses more than quantity x (refills + 1), another medication, and a cancelled prescription (409)', async () => {
    const { loc, med } = await stocked(100);
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 5, refills: 1 });
    const over = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 11,
      prescriptionId: rx.id,
    });
    expect(over.statusCode).toBe(409);
    expect(over.json().error.message).toBe('dispensing 11 would exceed the prescription: 10 of 10 left to dispense');
    const other = await stocked(5);
    const wrong = await move({
      type: 'dispense',
      locationId: other.loc,
      medicationId: other.med,
      quantity: 1,
      prescriptionId: rx.id,
    });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error.message).toBe('the prescription is for another medication');
    await call('doctor')({
      method: 'POST',
      url: `/api/v1/prescriptions/${rx.id}/cancel`,
      payload: { reason: 'Stopped' },
    });
    const cancelled = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 1,
      prescriptionId: rx.id,
    });
    expect(cancelled.statusCode).toBe(409);
    expect(await onHand(loc, med)).toBe(100);
    const after = await call('doctor')({ method: 'GET', url: `/api/v1/prescriptions/${rx.id}` });
    expect(after.json().dispensedQuantity).toBe(0);
  });

  it('leaves the prescription uncounted when the stock is short (one transaction)', async () => {
    const { loc, med } = await stocked(2);
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 5 });
    const res = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 3,
      prescriptionId: rx.id,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toBe('insufficient stock: 3 requested, 2 available at this location');
    const after = await call('doctor')({ method: 'GET', url: `/api/v1/prescriptions/${rx.id}` });
    expect(after.json().dispensedQuantity).toBe(0);
  });

  it('needs an approved prior authorization when the medication requires one', async () => {
    const { loc, med } = await stocked(10, { requiresPriorAuth: true });
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 2 });
    const none = await move({
      type: 'dispense',
      locationId: loc,
      medicationId: med,
      quantity: 1,
      prescriptionId: rx.id,
    });
    expect(none.statusCode).toBe(409);
    expect(none.json().error.message).toMatch(/needs an approved prior authorization/);
    const app = t.app as unknown as { priorAuthorizations?: object };
    const real = app.priorAuthorizations;
    const answer = (status: string) => ({
      ...real,
      latestFor: async (_ctx: unknown, ids: string[]) => new Map(ids.map((id) => [id, { id: `pa-${id}`, status }])),
    });
    try {
      Object.defineProperty(t.app, 'priorAuthorizations', {
        value: answer('submitted'),
        configurable: true,
        writable: true,
      });
      const submitted = await move({
        type: 'dispense',
        locationId: loc,
        medicationId: med,
        quantity: 1,
        prescriptionId: rx.id,
      });
      expect(submitted.statusCode).toBe(409);
      expect(submitted.json().error.message).toMatch(/the latest request is submitted/);
      Object.defineProperty(t.app, 'priorAuthorizations', {
        value: answer('approved'),
        configurable: true,
        writable: true,
      });
      const approved = await move({
        type: 'dispense',
        locationId: loc,
        medicationId: med,
        quantity: 1,
        prescriptionId: rx.id,
      });
      expect(approved.statusCode, approved.body).toBe(201);
    } finally {
      Object.defineProperty(t.app, 'priorAuthorizations', { value: real, configurable: true, writable: true });
    }
  });

  it("is for nurses: a manager (who keeps stock) and a doctor get 403; another tenant's prescription is 404", async () => {
    const { loc, med } = await stocked(10);
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 2 });
    const body = { type: 'dispense', locationId: loc, medicationId: med, quantity: 1, prescriptionId: rx.id };
    expect((await move(body, 'manager')).statusCode).toBe(403);
    expect((await move(body, 'doctor')).statusCode).toBe(403);
    const theirLoc = await location(b);
    const theirMed = (await createMedication(t.app, b)).id;
    await receive(theirLoc, theirMed, 5, b);
    const foreign = await move({ ...body, locationId: theirLoc }, 'nurse');
    expect(foreign.statusCode).toBe(404);
    const viaB = await move(
      { type: 'dispense', locationId: theirLoc, medicationId: theirMed, quantity: 1, prescriptionId: rx.id },
      'nurse',
      b,
    );
    expect(viaB.statusCode).toBe(404);
    expect(viaB.json().error.message).toBe('prescription not found');
  });

  it('hides who got what from admins, who read no prescriptions', async () => {
    const { loc, med } = await stocked(5);
    const rx = await createPrescription(t.app, a, { patientId, medicationId: med, quantity: 1 });
    await move({ type: 'dispense', locationId: loc, medicationId: med, quantity: 1, prescriptionId: rx.id });
    const admin = await call('admin')({
      method: 'GET',
      url: `/api/v1/pharmacy/movements?medicationId=${med}&type=dispense`,
    });
    expect(admin.json().data).toEqual([expect.objectContaining({ patientId: null, prescriptionId: null })]);
    const nurse = await call('nurse')({ method: 'GET', url: `/api/v1/pharmacy/movements?prescriptionId=${rx.id}` });
    expect(nurse.json().data).toEqual([expect.objectContaining({ patientId, prescriptionId: rx.id })]);
  });
});

describe('stock, thresholds and low stock', () => {
  it('lists on-hand levels and the low ones, with thresholds set per location and medication', async () => {
    const loc = await location();
    const plenty = await createMedication(t.app, a, { name: 'Plenty' });
    const scarce = await createMedication(t.app, a, { name: 'Scarce' });
    await receive(loc, plenty.id, 100);
    await receive(loc, scarce.id, 3);
    for (const [med, threshold] of [
      [plenty.id, 10],
      [scarce.id, 5],
    ] as const) {
      const res = await call('manager')({
        method: 'PUT',
        url: `/api/v1/pharmacy/locations/${loc}/stock/${med}`,
        payload: { lowStockThreshold: threshold },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ locationId: loc, medicationId: med, lowStockThreshold: threshold });
    }
    const stock = await call('doctor')({ method: 'GET', url: `/api/v1/pharmacy/stock?locationId=${loc}` });
    expect(
      stock
        .json()
        .data.map((l: { medicationName: string; onHand: number; low: boolean }) => [l.medicationName, l.onHand, l.low]),
    ).toEqual([
      ['Plenty', 100, false],
      ['Scarce', 3, true],
    ]);
    const low = await call('nurse')({ method: 'GET', url: `/api/v1/pharmacy/low-stock?locationId=${loc}` });
    expect(low.json().data).toEqual([
      expect.objectContaining({
        medicationId: scarce.id,
        medicationCode: scarce.code,
        onHand: 3,
        lowStockThreshold: 5,
        low: true,
      }),
    ]);
    const all = await call('manager')({ method: 'GET', url: '/api/v1/pharmacy/low-stock?limit=100' });
    expect(all.json().data.map((l: { medicationId: string }) => l.medicationId)).toContain(scarce.id);
    expect(all.json().data.map((l: { medicationId: string }) => l.medicationId)).not.toContain(plenty.id);
  });

  it('sets a threshold before any stock (an empty shelf is low), refuses bad values and other roles', async () => {
    const loc = await location();
    const med = (await createMedication(t.app, a)).id;
    const set = await call('admin')({
      method: 'PUT',
      url: `/api/v1/pharmacy/locations/${loc}/stock/${med}`,
      payload: { lowStockThreshold: 2 },
    });
    expect(set.json()).toMatchObject({ onHand: 0, lowStockThreshold: 2, low: true });
    const bad = await call('admin')({
      method: 'PUT',
      url: `/api/v1/pharmacy/locations/${loc}/stock/${med}`,
      payload: { lowStockThreshold: -1 },
    });
    expect(bad.statusCode).toBe(400);
    const nurse = await call('nurse')({
      method: 'PUT',
      url: `/api/v1/pharmacy/locations/${loc}/stock/${med}`,
      payload: { lowStockThreshold: 1 },
    });
    expect(nurse.statusCode).toBe(403);
  });

  it("answers 404 for another organization's location or medication, and lists none of theirs", async () => {
    const mine = await location();
    const theirs = await location(b);
    const med = (await createMedication(t.app, a)).id;
    const theirMed = (await createMedication(t.app, b)).id;
    await receive(theirs, theirMed, 1, b);
    for (const url of [
      `/api/v1/pharmacy/locations/${theirs}/stock/${med}`,
      `/api/v1/pharmacy/locations/${mine}/stock/${theirMed}`,
    ]) {
      const res = await call('admin')({ method: 'PUT', url, payload: { lowStockThreshold: 1 } });
      expect(res.statusCode, url).toBe(404);
    }
    const low = await call('manager')({ method: 'GET', url: `/api/v1/pharmacy/low-stock?locationId=${theirs}` });
    expect(low.statusCode).toBe(404);
    const stock = await call('manager')({ method: 'GET', url: '/api/v1/pharmacy/stock?limit=100' });
    expect(stock.body).not.toContain(theirMed);
    const ledger = await call('manager')({ method: 'GET', url: `/api/v1/pharmacy/movements?medicationId=${theirMed}` });
    expect(ledger.json().data).toEqual([]);
  });
});
