import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, whenConnected } from '../src/platform/redis.js';
import { MAX_COUNTERS, VolumeStore } from '../src/platform/http/volume-store.js';
import { eventually } from './helpers/eventually.js';
import { deleteKeys } from './helpers/test-app.js';

// The volume rows' store (src/platform/http/volume-store.ts): counted in memory, added to Redis in
// batches. The app-level behaviour (429s, headers, two instances) is in rate-limits.test.ts.

const count = (store: VolumeStore, key: string, windowMs = 60_000) =>
  new Promise<{ current: number; ttl: number }>((resolve, reject) =>
    store.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), windowMs),
  );

describe.skipIf(!process.env.REDIS_URL)('the volume store, with Redis', () => {
  const redis = connectRedis(process.env.REDIS_URL ?? '');
  const prefix = `wardline-test:vs-${randomBytes(4).toString('hex')}:`;
  beforeAll(async () => {
    expect(await whenConnected(redis, 5000)).toBe(true);
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('answers from memory and adds every key counted since the last sync in one round trip', async () => {
    let now = 1_000_000;
    const store = new VolumeStore(redis, prefix, () => now);
    for (let i = 1; i <= 3; i++) expect((await count(store, 'a')).current).toBe(i);
    await count(store, 'b');
    const pipelines = vi.spyOn(redis, 'pipeline');
    await store.sync();
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();
    expect(await redis.get(`${prefix}a`)).toBe('3');
    expect(await redis.get(`${prefix}b`)).toBe('1');

    // Another instance's counts arrive with the next sync.
    const other = new VolumeStore(redis, prefix, () => now);
    await count(other, 'a');
    await other.sync();
    expect((await count(store, 'a')).current).toBe(4);
    await store.sync();
    expect((await count(store, 'a')).current).toBe(6);

    // A window that has ended starts again from nothing.
    now += 61_000;
    expect((await count(store, 'a', 60_000)).current).toBe(1);
  });

  it('adds its counts on its own timer, without being asked', async () => {
    const store = new VolumeStore(redis, prefix);
    for (let i = 0; i < 7; i++) await count(store, 'timed');
    expect(await eventually(async () => (await redis.get(`${prefix}timed`)) ?? undefined, 5000)).toBe('7');
  });

  it('goes on counting on its own while Redis is unreachable, sending nothing', async () => {
    const down = connectRedis('redis://127.0.0.1:1');
    const pipelines = vi.spyOn(down, 'pipeline');
    const store = new VolumeStore(down, `${prefix}down:`);
    try {
      for (let i = 1; i <= 4; i++) expect((await count(store, 'k')).current).toBe(i);
      await expect(store.sync()).resolves.toBeUndefined();
      expect(pipelines).not.toHaveBeenCalled();
      expect((await count(store, 'k')).current).toBe(5);
    } finally {
      down.disconnect();
    }
  });

  it('keeps at most MAX_COUNTERS counters however many addresses call, and drops ended windows', async () => {
    const down = connectRedis('redis://127.0.0.1:1');
    let now = 5_000_000;
    const store = new VolumeStore(down, `${prefix}many:`, () => now);
    try {
      for (let i = 0; i < MAX_COUNTERS + 5_000; i++) await count(store, `ip-${i}`);
      expect(store.size).toBeLessThanOrEqual(MAX_COUNTERS);
      // The newest are kept: the last caller is still counted exactly.
      expect((await count(store, `ip-${MAX_COUNTERS + 4_999}`)).current).toBe(2);
      now += 61_000;
      await store.sync();
      expect(store.size).toBe(0);
    } finally {
      down.disconnect();
    }
  });
});
