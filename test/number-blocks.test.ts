import { describe, expect, it } from 'vitest';
import { NumberBlocks } from '../src/platform/db/counters.js';

/** A counter as `organization_counters` keeps it: `take` adds `count` and returns the first of them. */
function counter() {
  const values = new Map<string, number>();
  const calls: Array<{ organizationId: string; name: string; count: number }> = [];
  let failNext = false;
  const take = async (organizationId: string, name: string, count: number) => {
    await Promise.resolve();
    calls.push({ organizationId, name, count });
    if (failNext) {
      failNext = false;
      throw new Error('database unreachable');
    }
    const key = `${organizationId}/${name}`;
    const value = (values.get(key) ?? 0) + count;
    values.set(key, value);
    return value - count + 1;
  };
  return { take, calls, failOnce: () => (failNext = true) };
}

describe('NumberBlocks', () => {
  it('hands out a block taken once, in order, to concurrent callers', async () => {
    const c = counter();
    const blocks = new NumberBlocks(c.take);
    const numbers = await Promise.all(Array.from({ length: 25 }, () => blocks.next('org-a', 'mrn', 10)));
    expect(numbers).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(c.calls).toHaveLength(3);
    expect(c.calls.every((call) => call.count === 10)).toBe(true);
  });

  it('keeps organizations and counters apart', async () => {
    const c = counter();
    const blocks = new NumberBlocks(c.take);
    expect(await blocks.next('org-a', 'mrn', 5)).toBe(1);
    expect(await blocks.next('org-b', 'mrn', 5)).toBe(1);
    expect(await blocks.next('org-a', 'other', 5)).toBe(1);
    expect(await blocks.next('org-a', 'mrn', 5)).toBe(2);
  });

  it('gives two processes on one counter blocks that never overlap', async () => {
    const c = counter();
    const [one, two] = [new NumberBlocks(c.take), new NumberBlocks(c.take)];
    const taken = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? one : two).next('org-a', 'mrn', 4)),
    );
    expect(new Set(taken).size).toBe(30);
  });

  it('lets a failed refill fail its callers, and tries again on the next call', async () => {
    const c = counter();
    const blocks = new NumberBlocks(c.take);
    c.failOnce();
    const results = await Promise.allSettled([blocks.next('org-a', 'mrn', 3), blocks.next('org-a', 'mrn', 3)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(c.calls).toHaveLength(1);
    expect(await blocks.next('org-a', 'mrn', 3)).toBe(1);
  });
});
