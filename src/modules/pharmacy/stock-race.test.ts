/**
 * The last units, raced for: 50 dispenses of one unit at once, for 10 units on hand. On PostgreSQL
 * (DATABASE_URL) the requests run on several connections at once and the conditional UPDATE is what
 * stands between them and a negative count; on PGlite they queue for its one connection.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMedication,
  createPrescription,
  insertPatientWithAllergies,
} from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { prescriptions } from '../prescriptions/prescriptions.schema.js';
import { stockLevels, stockMovements } from './pharmacy.schema.js';

let t: TestApp;
let a: Tenant;

// Fifty requests at once on a shared, busy machine: measured, not shed.
beforeAll(async () => {
  t = await buildTestApp({ LOAD_SHED_EVENT_LOOP_DELAY_MS: '0' });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

describe('the dispense race', () => {
  it('50 parallel dispenses of 1 unit for 10 on hand: exactly 10 succeed, 40 get 409, on hand 0, ledger 10 - 10', async () => {
    const nurse = as(t.app, a.users.nurse.token);
    const locationRes = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/pharmacy/locations',
      payload: { name: 'Race cabinet' },
    });
    const locationId = locationRes.json().id;
    const medicationId = (await createMedication(t.app, a, { name: 'Morphine' })).id;
    const received = await nurse({
      method: 'POST',
      url: '/api/v1/pharmacy/movements',
      payload: { type: 'receive', locationId, medicationId, quantity: 10, lot: 'R-1', expiresOn: '2027-01-31' },
    });
    expect(received.statusCode, received.body).toBe(201);
    // Five patients' prescriptions, ten dispenses each: the stock row, not one prescription's, is raced for.
    const rxIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const patientId = await insertPatientWithAllergies(t.app, a);
      rxIds.push((await createPrescription(t.app, a, { patientId, medicationId, quantity: 20 })).id);
    }

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        nurse({
          method: 'POST',
          url: '/api/v1/pharmacy/movements',
          payload: { type: 'dispense', locationId, medicationId, quantity: 1, prescriptionId: rxIds[i % 5] },
        }),
      ),
    );
    const statuses = results.map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    for (const res of results.filter((r) => r.statusCode === 409)) {
      expect(res.json().error.message).toBe('insufficient stock: 1 requested, 0 available at this location');
    }
    const balances = results
      .filter((r) => r.statusCode === 201)
      .map((r) => r.json().movements[0].balanceAfter as number)
      .sort((x, y) => x - y);
    expect(balances).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const db = t.database.db;
    const [level] = await db
      .select({ onHand: stockLevels.onHand })
      .from(stockLevels)
      .where(and(eq(stockLevels.locationId, locationId), eq(stockLevels.medicationId, medicationId)));
    expect(level!.onHand).toBe(0);
    const ledger = await db
      .select({
        type: stockMovements.type,
        total: sql<number>`sum(${stockMovements.quantity})::int`,
        n: sql<number>`count(*)::int`,
      })
      .from(stockMovements)
      .where(and(eq(stockMovements.locationId, locationId), eq(stockMovements.medicationId, medicationId)))
      .groupBy(stockMovements.type)
      .orderBy(stockMovements.type);
    expect(ledger).toEqual([
      { type: 'dispense', total: -10, n: 10 },
      { type: 'receive', total: 10, n: 1 },
    ]);
    // The prescriptions counted exactly the units that left the shelf.
    const [counted] = await db
      .select({ total: sql<number>`sum(${prescriptions.dispensedQuantity})::int` })
      .from(prescriptions)
      .where(eq(prescriptions.medicationId, medicationId));
    expect(counted!.total).toBe(10);
    console.info(
      `dispense race on ${t.database.kind}: ${statuses.filter((s) => s === 201).length} x 201, ${statuses.filter((s) => s === 409).length} x 409`,
    );
  });
});
