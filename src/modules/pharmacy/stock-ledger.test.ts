/**
 * The ledger rule: after any sequence of movements (receipts, adjustments both ways, transfers in
 * both directions, some refused for want of stock, some sent at the same time), each location's
 * on-hand quantity of each medication is the sum of its movements, and never below zero.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMedication } from '../../../test/helpers/medications-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { stockLevels, stockMovements } from './pharmacy.schema.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ LOAD_SHED_EVENT_LOOP_DELAY_MS: '0' });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

/** mulberry32: a small seeded PRNG, so a failure replays with its seed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function ledgerAgainstLevels() {
  const db = t.database.db;
  const sums = await db
    .select({
      locationId: stockMovements.locationId,
      medicationId: stockMovements.medicationId,
      total: sql<number>`sum(${stockMovements.quantity})::int`,
      lowest: sql<number>`min(${stockMovements.balanceAfter})::int`,
    })
    .from(stockMovements)
    .where(eq(stockMovements.organizationId, a.organizationId))
    .groupBy(stockMovements.locationId, stockMovements.medicationId);
  const levels = await db
    .select({ locationId: stockLevels.locationId, medicationId: stockLevels.medicationId, onHand: stockLevels.onHand })
    .from(stockLevels)
    .where(and(eq(stockLevels.organizationId, a.organizationId)));
  const key = (r: { locationId: string; medicationId: string }) => `${r.locationId}/${r.medicationId}`;
  return {
    ledger: Object.fromEntries(sums.map((r) => [key(r), r.total])),
    onHand: Object.fromEntries(levels.map((r) => [key(r), r.onHand])),
    lowestBalance: Math.min(...sums.map((r) => r.lowest)),
    lowestOnHand: Math.min(...levels.map((r) => r.onHand)),
  };
}

describe('the stock ledger', () => {
  it('equals the on-hand quantities after a random sequence of movements (seed 20261123), never negative', async () => {
    const seed = 20261123;
    const random = prng(seed);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
    const admin = as(t.app, a.users.admin.token);
    const locations: string[] = [];
    for (const name of ['Pharmacy', 'Ward 2', 'Ward 3']) {
      const res = await admin({ method: 'POST', url: '/api/v1/pharmacy/locations', payload: { name } });
      locations.push(res.json().id);
    }
    const medications = [(await createMedication(t.app, a)).id, (await createMedication(t.app, a)).id];
    const expected = new Map<string, number>();
    const counts = { 201: 0, 409: 0 };

    const bodyFor = () => {
      const locationId = pick(locations);
      const medicationId = pick(medications);
      const quantity = 1 + Math.floor(random() * 12);
      const roll = random();
      if (roll < 0.3) return { type: 'receive', locationId, medicationId, quantity, lot: 'L', expiresOn: '2027-12-31' };
      if (roll < 0.6) {
        const toLocationId = pick(locations.filter((l) => l !== locationId));
        return { type: 'transfer', locationId, toLocationId, medicationId, quantity };
      }
      const direction = random() < 0.4 ? 'increase' : 'decrease';
      return { type: 'adjust', locationId, medicationId, quantity, direction, reason: 'Count' };
    };

    // 40 rounds of 5 movements sent together: 200 movements, some competing for the same units.
    for (let round = 0; round < 40; round++) {
      const bodies = Array.from({ length: 5 }, bodyFor);
      const results = await Promise.all(
        bodies.map((payload) =>
          as(t.app, a.users.nurse.token)({ method: 'POST', url: '/api/v1/pharmacy/movements', payload }),
        ),
      );
      for (const res of results) {
        expect([201, 409], res.body).toContain(res.statusCode);
        counts[res.statusCode as 201 | 409]++;
        if (res.statusCode !== 201) continue;
        for (const m of res.json().movements as { locationId: string; medicationId: string; quantity: number }[]) {
          const k = `${m.locationId}/${m.medicationId}`;
          expected.set(k, (expected.get(k) ?? 0) + m.quantity);
        }
      }
      if (round % 10 === 9) {
        const state = await ledgerAgainstLevels();
        expect(state.onHand, `seed ${seed}, round ${round}`).toEqual(state.ledger);
      }
    }

    const state = await ledgerAgainstLevels();
    expect(state.onHand).toEqual(state.ledger);
    expect(state.ledger).toEqual(Object.fromEntries(expected));
    expect(state.lowestOnHand).toBeGreaterThanOrEqual(0);
    expect(state.lowestBalance).toBeGreaterThanOrEqual(0);
    // The sequence did refuse some movements for want of stock, and let most through.
    expect(counts[409]).toBeGreaterThan(0);
    expect(counts[201]).toBeGreaterThan(100);
    // And the stock route answers the same levels.
    const listed = await as(t.app, a.users.manager.token)({ method: 'GET', url: '/api/v1/pharmacy/stock?limit=100' });
    const fromRoute = Object.fromEntries(
      listed
        .json()
        .data.map((l: { locationId: string; medicationId: string; onHand: number }) => [
          `${l.locationId}/${l.medicationId}`,
          l.onHand,
        ]),
    );
    expect(fromRoute).toEqual(state.onHand);
  });

  it('refuses to change or delete a movement (the ledger is append-only)', async () => {
    const db = t.database.db;
    const [row] = await db.select({ id: stockMovements.id }).from(stockMovements).limit(1);
    await expect(
      db.update(stockMovements).set({ quantity: 1000 }).where(eq(stockMovements.id, row!.id)),
    ).rejects.toThrow();
    await expect(db.delete(stockMovements).where(eq(stockMovements.id, row!.id))).rejects.toThrow();
    await expect(
      db.update(stockLevels).set({ onHand: -1 }).where(eq(stockLevels.organizationId, a.organizationId)),
    ).rejects.toThrow();
  });
});
