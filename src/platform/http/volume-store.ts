import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from '../redis.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * Adds what an instance counted to the shared counter, with the window @fastify/rate-limit's own
 * Redis store uses (it starts at the first request anywhere): the same key, the same expiry.
 */
const ADD = `
  local current = redis.call('INCRBY', KEYS[1], ARGV[1])
  if current == tonumber(ARGV[1]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {current, tonumber(ARGV[2])}
  end
  return {current, redis.call('PTTL', KEYS[1])}
`;

interface Counter {
  /** The shared count at the last sync, this instance's synced requests included. */
  shared: number;
  /** Counted here since the last sync. */
  pending: number;
  /** When the window ends (ms since the epoch), as Redis last said. */
  endsAt: number;
}

/** The pipeline, with the command ADD defines on the client. */
type Adding = { wardlineRateAdd(key: string, count: number, windowMs: number): void };

/** How often an instance adds its counts to Redis: the most a client can exceed a ceiling by, in time. */
export const VOLUME_SYNC_MS = 100;
/** Counters kept at most; past that, those with nothing to sync are dropped first. */
const MAX_COUNTERS = 100_000;

/**
 * A @fastify/rate-limit store for the volume rows (per address, per caller): each request is counted
 * in memory and answered at once, and the counts are added to the shared Redis counter every
 * VOLUME_SYNC_MS, for all keys in one round trip, instead of one round trip per request. On one
 * instance a ceiling is exact; across instances, each learns the shared count when it adds its own
 * (within VOLUME_SYNC_MS of a request it counted), so a client spread over several can exceed it by
 * about what it sends each of them in that time. While Redis is
 * unreachable, each instance goes on counting on its own. The operation rows (sign-in, invitations,
 * exports, writes...), low and exact, keep the library's store: a round trip each.
 */
export class VolumeStore {
  private readonly counters = new Map<string, Counter>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!('wardlineRateAdd' in redis)) redis.defineCommand('wardlineRateAdd', { numberOfKeys: 1, lua: ADD });
  }

  /** The store class @fastify/rate-limit's `store` option takes (it constructs one per limiter). */
  static for(store: VolumeStore): FastifyRateLimitStoreCtor {
    return class {
      constructor() {
        return store;
      }
    } as unknown as FastifyRateLimitStoreCtor;
  }

  incr(key: string, callback: Callback, windowMs: number): void {
    const now = this.now();
    let counter = this.counters.get(key);
    if (!counter || counter.endsAt <= now) {
      counter = { shared: 0, pending: 0, endsAt: now + windowMs };
      this.counters.set(key, counter);
    }
    counter.pending++;
    this.timer ??= setTimeout(() => void this.sync(), VOLUME_SYNC_MS).unref();
    callback(null, { current: counter.shared + counter.pending, ttl: counter.endsAt - now });
  }

  child(): VolumeStore {
    return this;
  }

  /** Adds the counts made since the last sync to Redis (the timer does; tests and shutdown call it). */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.syncing = this.addPending().finally(() => (this.syncing = undefined));
    await this.syncing;
  }

  private async addPending(): Promise<void> {
    const sent: [string, Counter, number][] = [];
    const pipeline = this.redis.pipeline();
    const adding = pipeline as unknown as Adding;
    for (const [key, counter] of this.counters) {
      if (counter.pending === 0) continue;
      const windowMs = Math.max(1, counter.endsAt - this.now());
      adding.wardlineRateAdd(`${this.prefix}${key}`, counter.pending, windowMs);
      sent.push([key, counter, counter.pending]);
    }
    if (sent.length > 0) {
      const results = await pipeline.exec().catch(() => null);
      const now = this.now();
      sent.forEach(([key, counter, count], i) => {
        const [error, value] = results?.[i] ?? [new Error('not sent'), null];
        // Unreachable: the counts stay pending here, and this instance counts on its own meanwhile.
        if (error || !Array.isArray(value)) return;
        const [shared, ttl] = value as [number, number];
        counter.shared = shared;
        counter.pending -= count;
        if (ttl > 0) counter.endsAt = now + ttl;
        if (counter.pending > 0) this.timer ??= setTimeout(() => void this.sync(), VOLUME_SYNC_MS).unref();
        // A counter the window has left behind is dropped once synced.
        if (counter.pending === 0 && counter.endsAt <= now) this.counters.delete(key);
      });
    }
    this.forgetEnded();
  }

  private forgetEnded(): void {
    const now = this.now();
    for (const [key, counter] of this.counters) {
      if (counter.pending === 0 && (counter.endsAt <= now || this.counters.size > MAX_COUNTERS))
        this.counters.delete(key);
    }
  }
}
