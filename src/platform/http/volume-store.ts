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
/** Counters kept at most; past that, the oldest are dropped (a tenth at a time), synced ones first. */
export const MAX_COUNTERS = 100_000;
/** Keys sent per sync at most; the rest go with the next one. */
const MAX_PER_SYNC = 10_000;

/**
 * A @fastify/rate-limit store for the volume rows (per address, per caller, writes per caller): each request is counted
 * in memory and answered at once, and the counts are added to the shared Redis counter every
 * VOLUME_SYNC_MS, for all keys in one round trip, instead of one round trip per request. On one
 * instance a ceiling is exact; across instances, each learns the shared count when it adds its own
 * (within VOLUME_SYNC_MS of a request it counted), so a client spread over several can exceed it by
 * about what it sends each of them in that time. While Redis is unreachable, each instance goes on
 * counting on its own. The operation rows (sign-in, invitations, exports, alerts, ai), low and exact,
 * keep the library's store: a round trip each.
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
      // A new key, or a new window: counted afresh, at the end of the map (the oldest are evicted first).
      this.counters.delete(key);
      counter = { shared: 0, pending: 0, endsAt: now + windowMs };
      this.counters.set(key, counter);
      if (this.counters.size > MAX_COUNTERS) this.evictOldest();
    }
    counter.pending++;
    this.arm();
    callback(null, { current: counter.shared + counter.pending, ttl: counter.endsAt - now });
  }

  /** How many counters this instance holds (for tests and metrics). */
  get size(): number {
    return this.counters.size;
  }

  child(): VolumeStore {
    return this;
  }

  /**
   * Adds the counts made since the last sync to Redis (the timer does; tests and shutdown call it).
   * Never throws: while Redis is unreachable the counts stay here.
   */
  async sync(): Promise<void> {
    while (this.syncing) await this.syncing;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.syncing = this.addPending().finally(() => (this.syncing = undefined));
    await this.syncing;
  }

  private arm(): void {
    this.timer ??= setTimeout(() => void this.sync(), VOLUME_SYNC_MS).unref();
  }

  private async addPending(): Promise<void> {
    this.forgetEnded();
    // Not connected: nothing is sent (commands would fail at once); the timer tries again.
    if (this.redis.status !== 'ready') {
      if (this.counters.size > 0) this.arm();
      return;
    }
    const sent: [string, Counter, number][] = [];
    const pipeline = this.redis.pipeline();
    const adding = pipeline as unknown as Adding;
    const now = this.now();
    for (const [key, counter] of this.counters) {
      if (counter.pending === 0) continue;
      adding.wardlineRateAdd(`${this.prefix}${key}`, counter.pending, Math.max(1, counter.endsAt - now));
      sent.push([key, counter, counter.pending]);
      if (sent.length === MAX_PER_SYNC) break;
    }
    if (sent.length === 0) return;
    // A reply lost to a connection reset leaves its counts pending, sent again next time: a client may
    // then be counted twice for them (never less), which only brings its refusal closer.
    const results = await pipeline.exec().catch(() => null);
    const after = this.now();
    // Counted meanwhile re-arms the timer in incr; what was not sent, or not added, re-arms it here.
    let left = sent.length === MAX_PER_SYNC;
    sent.forEach(([key, counter, count], i) => {
      const [error, value] = results?.[i] ?? [new Error('not sent'), null];
      if (error || !Array.isArray(value)) {
        left = true;
        return;
      }
      const [shared, ttl] = value as [number, number];
      counter.shared = shared;
      counter.pending -= count;
      if (ttl > 0) counter.endsAt = after + ttl;
      if (counter.pending === 0 && counter.endsAt <= after && this.counters.get(key) === counter)
        this.counters.delete(key);
    });
    if (left) this.arm();
  }

  /** Counters of a window that has ended are dropped, synced or not: their counts no longer matter. */
  private forgetEnded(): void {
    const now = this.now();
    for (const [key, counter] of this.counters) if (counter.endsAt <= now) this.counters.delete(key);
  }

  /** Past MAX_COUNTERS (many addresses at once), the oldest counters go, first those with nothing pending. */
  private evictOldest(): void {
    let excess = this.counters.size - MAX_COUNTERS + Math.ceil(MAX_COUNTERS / 10);
    for (const [key, counter] of this.counters) {
      if (excess === 0) return;
      if (counter.pending === 0) {
        this.counters.delete(key);
        excess--;
      }
    }
    for (const key of this.counters.keys()) {
      if (excess-- <= 0) return;
      this.counters.delete(key);
    }
  }
}
