import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actingAs, type ActingContext } from '../src/platform/db/unit-of-work.js';
import type { DeliveredMessage } from '../src/platform/outbox/outbox.js';
import { outboxMessages } from '../src/platform/outbox/outbox.schema.js';
import { buildTestApp, createTenant, type Tenant, tenantContext, type TestApp } from './helpers/test-app.js';

declare module '../src/platform/outbox/outbox.js' {
  interface OutboxTopics {
    'test.ping': { organizationId: string; n: number };
  }
}

let t: TestApp;
let a: Tenant;
let ctx: ActingContext;
let clock = new Date('2026-11-23T08:00:00.000Z');
const received: DeliveredMessage<{ organizationId: string; n: number }>[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => clock });
  a = await createTenant(t.app);
  ctx = actingAs(tenantContext(a, 'admin', 'outbox-test-request'), a.organizationId);
  t.app.outbox.on('test.ping', async (message) => {
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error('the far side is down');
    }
    received.push(message);
  });
});
afterAll(() => t.close());

/** Publishes in a write; the commit starts a delivery run, which this waits for. */
async function publish(n: number, fail = false) {
  await t.app.uow.write(ctx, async (work) => {
    work.audit({ action: 'test.publish', resourceType: 'test' });
    work.publish('test.ping', { organizationId: a.organizationId, n });
    if (fail) throw new Error('rolled back');
  });
  await t.app.outbox.settle();
}

const pending = (n: number) =>
  t.database.db
    .select()
    .from(outboxMessages)
    .then((rows) => rows.filter((row) => (row.payload as { n: number }).n === n));

describe('the outbox', () => {
  it('delivers a message published by a committed write, once, with its tenant and request id', async () => {
    await publish(1);
    expect(received.filter((m) => m.payload.n === 1)).toEqual([
      expect.objectContaining({ organizationId: a.organizationId, requestId: 'outbox-test-request', attempt: 1 }),
    ]);
    await t.app.outbox.deliverDue();
    expect(received.filter((m) => m.payload.n === 1)).toHaveLength(1);
    const [row] = await pending(1);
    expect(row!.deliveredAt).not.toBeNull();
  });

  it('leaves nothing behind for a write that rolled back', async () => {
    await expect(publish(2, true)).rejects.toThrow('rolled back');
    expect(await pending(2)).toEqual([]);
    await t.app.outbox.deliverDue();
    expect(received.some((m) => m.payload.n === 2)).toBe(false);
  });

  it('retries a failing handler with exponential backoff, then delivers', async () => {
    failuresLeft = 2;
    await publish(3); // its delivery fails: retry in 1 s
    const [afterFirst] = await pending(3);
    expect(afterFirst).toMatchObject({ attempts: 1, deliveredAt: null, lastError: 'Error: the far side is down' });
    expect(afterFirst!.availableAt.getTime() - clock.getTime()).toBe(1_000);

    await t.app.outbox.deliverDue(); // not due yet
    expect((await pending(3))[0]!.attempts).toBe(1);

    clock = new Date(clock.getTime() + 1_000);
    await t.app.outbox.deliverDue(); // fails again: retry in 2 s
    expect((await pending(3))[0]!.availableAt.getTime() - clock.getTime()).toBe(2_000);

    clock = new Date(clock.getTime() + 2_000);
    await t.app.outbox.deliverDue();
    expect(received.filter((m) => m.payload.n === 3)).toEqual([expect.objectContaining({ attempt: 3 })]);
  });

  it('picks up a message whose delivery was interrupted, once its lease runs out', async () => {
    // A process claimed it and died before delivering: the lease is taken, nothing was delivered.
    await t.database.db.insert(outboxMessages).values({
      organizationId: a.organizationId,
      topic: 'test.ping',
      payload: { organizationId: a.organizationId, n: 4 },
      requestId: 'crashed-request',
      availableAt: new Date(clock.getTime() + 60_000),
      attempts: 1,
    });
    await t.app.outbox.deliverDue();
    expect(received.some((m) => m.payload.n === 4)).toBe(false);
    clock = new Date(clock.getTime() + 60_000);
    await t.app.outbox.deliverDue();
    expect(received.filter((m) => m.payload.n === 4)).toEqual([expect.objectContaining({ attempt: 2 })]);
  });
});
