import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { appointments } from '../appointments/appointments.schema.js';
import { invoices } from '../billing/billing.schema.js';
import { encounters } from '../encounters/encounters.schema.js';
import { hospitals, units } from '../hospitals/hospitals.schema.js';
import { labOrders, labTests } from '../labs/labs.schema.js';
import { medications } from '../medications/medications.schema.js';
import { patients } from '../patients/patients.schema.js';
import { pharmacyLocations, stockLevels } from '../pharmacy/pharmacy.schema.js';
import { shifts } from '../staff/staff.schema.js';
import { dateIn } from './dashboard.service.js';

// 23:30 UTC on 23 November: already the 24th in Berlin, still the 23rd in UTC.
const NOW = new Date('2026-11-23T23:30:00.000Z');

let t: TestApp;
let a: Tenant;
let b: Tenant;
let berlin: string;
let lisbon: string;

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => new Date(NOW) });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  const db = t.app.database.db;
  const org = a.organizationId;
  const [h1, h2] = await db
    .insert(hospitals)
    .values([
      { organizationId: org, name: 'Berlin', timezone: 'Europe/Berlin' },
      { organizationId: org, name: 'Lisbon', timezone: 'Europe/Lisbon', isDefault: true },
    ])
    .returning({ id: hospitals.id });
  berlin = h1!.id;
  lisbon = h2!.id;

  // Patients: 3 in Berlin (one archived), 2 in Lisbon.
  const ids = [];
  for (const [hospital, status] of [
    [berlin, 'active'],
    [berlin, 'active'],
    [berlin, 'archived'],
    [lisbon, 'active'],
    [lisbon, 'active'],
  ] as const) {
    const id = await insertPatient(t.app, a, status);
    await db.update(patients).set({ primaryHospitalId: hospital }).where(eq(patients.id, id));
    ids.push(id);
  }
  const [p1, p2, , p4] = ids as [string, string, string, string];

  // Appointments: Berlin on its 24th (two booked, one checked-in), one on its 23rd; Lisbon on its 23rd.
  const appointment = (patientId: string, hospitalId: string, startsAt: string, status: string) => ({
    organizationId: org,
    patientId,
    practitionerId: a.users.doctor.id,
    hospitalId,
    startsAt: new Date(startsAt),
    endsAt: new Date(new Date(startsAt).getTime() + 15 * 60_000),
    status,
  });
  await db
    .insert(appointments)
    .values([
      appointment(p1, berlin, '2026-11-24T08:00:00+01:00', 'booked'),
      appointment(p2, berlin, '2026-11-24T09:00:00+01:00', 'booked'),
      appointment(p1, berlin, '2026-11-24T10:00:00+01:00', 'checked-in'),
      appointment(p2, berlin, '2026-11-23T10:00:00+01:00', 'completed'),
      appointment(p4, lisbon, '2026-11-23T10:00:00Z', 'booked'),
    ]);

  const [e1, e2] = await db
    .insert(encounters)
    .values([
      { organizationId: org, patientId: p1, hospitalId: berlin, openedBy: a.users.doctor.id },
      { organizationId: org, patientId: p4, hospitalId: lisbon, openedBy: a.users.doctor.id, status: 'signed' },
    ])
    .returning({ id: encounters.id });

  const [test] = await db
    .insert(labTests)
    .values({ organizationId: org, code: 'K', name: 'Potassium', unit: 'mmol/L' })
    .returning({ id: labTests.id });
  const order = (encounterId: string | null, status: string, resultFlag: string | null = null) => ({
    organizationId: org,
    patientId: p1,
    encounterId,
    testId: test!.id,
    orderedBy: a.users.doctor.id,
    status,
    resultFlag,
  });
  await db
    .insert(labOrders)
    .values([
      order(e1!.id, 'ordered'),
      order(e1!.id, 'in-progress'),
      order(e2!.id, 'collected'),
      order(e1!.id, 'resulted', 'critical-high'),
      order(e1!.id, 'reviewed', 'critical-low'),
      order(e2!.id, 'resulted', 'high'),
    ]);

  const [med] = await db
    .insert(medications)
    .values({ organizationId: org, name: 'Heparin', form: 'injection', strength: '5000 IU/mL', code: 'HEP' })
    .returning({ id: medications.id });
  const [l1, l2] = await db
    .insert(pharmacyLocations)
    .values([
      { organizationId: org, name: 'Berlin pharmacy', hospitalId: berlin },
      { organizationId: org, name: 'Lisbon pharmacy', hospitalId: lisbon },
    ])
    .returning({ id: pharmacyLocations.id });
  await db.insert(stockLevels).values([
    { organizationId: org, locationId: l1!.id, medicationId: med!.id, onHand: 3, lowStockThreshold: 5 },
    { organizationId: org, locationId: l2!.id, medicationId: med!.id, onHand: 50, lowStockThreshold: 5 },
  ]);

  const invoice = (encounterId: string, status: string, total: string, amountPaid = '0') => ({
    organizationId: org,
    patientId: p1,
    encounterId,
    status,
    subtotal: total,
    total,
    amountPaid,
    createdBy: a.users.operator.id,
  });
  await db
    .insert(invoices)
    .values([
      invoice(e1!.id, 'issued', '100.10', '40.00'),
      invoice(e2!.id, 'issued', '0.20'),
      invoice(e2!.id, 'draft', '999.00'),
      invoice(e1!.id, 'paid', '10.00', '10.00'),
    ]);

  // Staffing: Ward A (Lisbon) has its nurse on duty but no doctor; the ICU (Berlin) has nobody; a
  // closed unit is not counted, nor a shift that ended.
  const [wardA, icu] = await db
    .insert(units)
    .values([
      { organizationId: org, hospitalId: lisbon, name: 'Ward A' },
      { organizationId: org, hospitalId: berlin, name: 'ICU' },
      { organizationId: org, hospitalId: berlin, name: 'Closed wing', active: false },
    ])
    .returning();
  const shift = (unitId: string, role: 'nurse' | 'doctor', endedAt: Date | null) => ({
    organizationId: org,
    userId: a.users[role].id,
    hospitalId: unitId === wardA!.id ? lisbon : berlin,
    unitId,
    role,
    startedAt: new Date(NOW.getTime() - 3600_000),
    endedAt,
    startedBy: a.users[role].id,
  });
  await db.insert(shifts).values([shift(wardA!.id, 'nurse', null), shift(icu!.id, 'doctor', NOW)]);
}, 60_000);
afterAll(() => t.close());

const stats = (tenant: Tenant, query = '', role: keyof Tenant['users'] = 'manager') =>
  as(t.app, tenant.users[role].token)({ method: 'GET', url: `/api/v1/dashboard/stats${query}` });

describe('GET /api/v1/dashboard/stats', () => {
  it("answers the organization's figures, today in the default hospital's zone", async () => {
    const res = await stats(a);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      hospitalId: null,
      date: '2026-11-23',
      timezone: 'Europe/Lisbon',
      patients: { active: 4 },
      appointments: { total: 2, byStatus: { completed: 1, booked: 1 } },
      openEncounters: 1,
      labResults: { pending: 3, critical: 1 },
      lowStockItems: 1,
      unpaidInvoices: { count: 2, total: '60.30' },
      activeAlerts: 0,
      unstaffedUnits: [
        { unitId: expect.any(String), unitName: 'ICU', missing: ['nurse', 'doctor'] },
        { unitId: expect.any(String), unitName: 'Ward A', missing: ['doctor'] },
      ],
      generatedAt: NOW.toISOString(),
    });
  });

  it("answers one hospital's figures, today in its own zone", async () => {
    const res = await stats(a, `?hospitalId=${berlin}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      hospitalId: berlin,
      date: '2026-11-24',
      timezone: 'Europe/Berlin',
      patients: { active: 2 },
      appointments: { total: 3, byStatus: { booked: 2, 'checked-in': 1 } },
      openEncounters: 1,
      labResults: { pending: 2, critical: 1 },
      lowStockItems: 1,
      unpaidInvoices: { count: 1, total: '60.10' },
      unstaffedUnits: [{ unitName: 'ICU', missing: ['nurse', 'doctor'] }],
    });
    const lisbonStats = (await stats(a, `?hospitalId=${lisbon}&date=2026-11-23`)).json();
    expect(lisbonStats).toMatchObject({
      patients: { active: 2 },
      appointments: { total: 1 },
      openEncounters: 0,
      labResults: { pending: 1, critical: 0 },
      lowStockItems: 0,
      unpaidInvoices: { count: 1, total: '0.20' },
    });
  });

  it('counts another day when asked', async () => {
    const res = await stats(a, `?hospitalId=${berlin}&date=2026-11-23`);
    expect(res.json().appointments).toEqual({ total: 1, byStatus: { completed: 1 } });
  });

  it('refuses a bad date or id with 400, and an unknown or foreign hospital with 404', async () => {
    expect((await stats(a, '?date=2026-02-30')).statusCode).toBe(400);
    expect((await stats(a, '?hospitalId=no%20such')).statusCode).toBe(400);
    expect((await stats(a, '?extra=1')).statusCode).toBe(400);
    expect((await stats(a, `?hospitalId=${randomUUID()}`)).statusCode).toBe(404);
    expect((await stats(b, `?hospitalId=${berlin}`)).statusCode).toBe(404);
  });

  it("shows another tenant nothing of this one's", async () => {
    const res = await stats(b);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      timezone: 'UTC',
      patients: { active: 0 },
      appointments: { total: 0, byStatus: {} },
      openEncounters: 0,
      labResults: { pending: 0, critical: 0 },
      lowStockItems: 0,
      unpaidInvoices: { count: 0, total: '0.00' },
    });
  });

  it('is for managers only', async () => {
    for (const role of ['admin', 'doctor', 'nurse', 'operator'] as const) {
      expect((await stats(a, '', role)).statusCode).toBe(403);
    }
  });

  it('works out dates in a zone', () => {
    expect(dateIn(NOW, 'UTC')).toBe('2026-11-23');
    expect(dateIn(NOW, 'Europe/Berlin')).toBe('2026-11-24');
    expect(dateIn(NOW, 'America/Los_Angeles')).toBe('2026-11-23');
  });
});
