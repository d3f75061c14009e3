import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { BusObserver } from './cache-bus.js';
import { deepFreeze } from './cache-serializer.js';
import { type Bento, createBento, MEMORY_MAX_ITEMS, type MemoryLayers, memoryOnly } from './cache-stores.js';
import { type Redis, whenConnected } from './redis.js';

type Entries = ReturnType<Bento['namespace']>;

/** How often invalidations that could not reach Redis are tried again. */
const RETRY_INTERVAL_MS = 5_000;
/**
 * How long after filling an entry this instance still deletes it again from Redis when another
 * instance announces that it changed: a fill that read the database before that change committed
 * may have written its copy to Redis after the other instance deleted it there.
 */
const REFILL_GUARD_MS = 10_000;
/** Buckets of the invalidation counters (see `generation`): a key's changes are counted in one of them. */
const GENERATION_BUCKETS = 4096;

/** What a cache-aside read needs: the key, how long it may be served, and how to load it on a miss. */
export interface CachedRead<T> {
  key: string;
  /** Milliseconds an entry is served for. */
  ttl: number;
  /**
   * Milliseconds an expired entry may still be served while the database cannot answer (bentocache's
   * grace period). Leave it out for anything that authorizes, and for clinical records.
   */
  grace?: number;
  /** Loads the value on a miss; never `undefined`. `null` ("none") is returned but not cached. */
  factory: () => Promise<T>;
}

/** Hits and misses of one namespace since start. `bypassed`: answered from the database without caching. */
export interface NamespaceStats {
  hits: number;
  misses: number;
  /** Misses whose value was not cached because the data changed while it was being loaded. */
  discarded: number;
  bypassed: number;
}

/** One namespace of one organization: what services use for their cache-aside reads. */
export interface TenantCache {
  getOrSet<T>(read: CachedRead<T>): Promise<T>;
  /** Drops keys now, here and on every instance (prefer `work.invalidate` inside a unit of work). */
  invalidate(keys: string[]): Promise<void>;
  /** Drops every entry of this namespace for this organization (lists whose keys are not known). */
  clear(): Promise<void>;
}

const fnv = (text: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % GENERATION_BUCKETS;
};

/**
 * The shared cache: in-process memory, backed by Redis (L2) with an invalidation bus between
 * instances when REDIS_URL is set. Reads and writes that cannot reach Redis fall back to memory
 * (and their callers to the database). Owners of cached data invalidate it after their changes commit.
 *
 * A read that misses loads from the database and caches what it loaded, unless the key was
 * invalidated (here, or by another instance through the bus) while it was loading: a change that
 * committed meanwhile would otherwise be overwritten by the older copy. Counted per key bucket, so
 * a change elsewhere rarely costs a fill.
 */
export class Cache {
  private readonly pending = new Map<string, Set<string>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly namespaces = new Map<string, Entries>();
  private readonly counters = new Map<string, NamespaceStats>();
  /** Invalidations seen per key bucket; a clear of a whole namespace counts in `clears`. */
  private readonly generations = new Uint32Array(GENERATION_BUCKETS);
  private clears = 0;
  /** Entries this instance filled recently (with Redis only): key -> when, and in which namespace. */
  private readonly recentFills = new Map<string, { at: number; namespace: string }>();
  /** Whether the bus has listened (always, without Redis); whether the start stopped waiting for it. */
  private listening: boolean;
  private servedUnheard = false;
  private heard: (() => void) | undefined;

  constructor(
    private readonly bento: Bento,
    private readonly log: FastifyBaseLogger,
    private readonly bus: BusObserver | null,
    private readonly memory: MemoryLayers,
  ) {
    // Both stores now, not at their first use: each subscribes to its bus channel as it is made, and a
    // store made on a first read could miss a delete published while that read was loading.
    for (const store of ['shared', 'local'] as const) bento.use(store);
    if (bus) {
      bus.onRemoteChange = (type, keys) => this.remoteChange(type, keys);
      bus.onListening = (missed) => this.busListens(missed);
    }
    this.listening = !bus;
  }

  /**
   * Waits, at most `timeoutMs`, until other instances' deletes reach this one (the bus's subscriptions
   * confirmed by Redis). False if it gave up: this instance then serves without them, and drops its
   * memory copies once the bus listens.
   */
  async untilListening(timeoutMs: number): Promise<boolean> {
    if (this.listening) return true;
    const heard = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.heard = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (!heard) this.servedUnheard = true;
    return heard;
  }

  private busListens(missed: boolean): void {
    const first = !this.listening;
    this.listening = true;
    this.heard?.();
    if (missed || (first && this.servedUnheard)) this.deletesMissed();
  }

  /** A bentocache namespace (made once). For data that is not an organization's: sessions, memberships. */
  namespace(name: string): Entries {
    let entries = this.namespaces.get(name);
    if (!entries) {
      entries = this.bento.use(memoryOnly(name) ? 'local' : 'shared').namespace(name);
      this.namespaces.set(name, entries);
    }
    return entries;
  }

  /** An organization's entries of one namespace (`patients`, `staff`...): its keys never meet another's. */
  tenant(namespace: string, organizationId: string): TenantCache {
    const path = `${namespace}:${organizationId}`;
    return {
      getOrSet: (read) => this.getOrSet(namespace, path, read),
      invalidate: (keys) => this.invalidate(path, keys),
      clear: () => this.clear(path),
    };
  }

  /**
   * Cache-aside on a namespace: the entry when there is one, else the factory's value, cached unless
   * the key was invalidated meanwhile. Concurrent misses of one key in this process wait for one
   * factory (bentocache's lock). Redis errors are misses; the database still answers.
   */
  async getOrSet<T>(statsName: string, namespace: string, read: CachedRead<T>): Promise<T> {
    const stats = this.statsOf(statsName);
    if (this.pending.size > 0 && this.pending.get(namespace)?.has(read.key)) {
      // An invalidation of this key has not reached Redis yet: Redis may still hold the old copy.
      stats.bypassed++;
      return deepFreeze(await read.factory());
    }
    // Taken before the lookup: a fill that began before an invalidation is never cached, however
    // late its factory starts (Redis may answer the lookup slowly).
    const bucket = fnv(read.key);
    const [generation, clears] = [this.generations[bucket], this.clears];
    let loaded: { value: T } | undefined;
    let failed: { error: unknown } | undefined;
    const lookup = this.namespace(namespace).getOrSet<T>({
      key: read.key,
      ttl: read.ttl,
      ...(read.grace ? { grace: read.grace } : {}),
      suppressL2Errors: true,
      // A fill copies what the database holds: other instances' memory copies are either the same or
      // already dropped by the change's own delete (or by `deletesMissed`), so telling them costs a
      // Redis round trip per miss for nothing.
      skipBusNotify: true,
      factory: async (ctx) => {
        stats.misses++;
        let result: T;
        try {
          result = await read.factory();
        } catch (error) {
          failed = { error };
          // With grace, bentocache may answer with the expired entry instead; without, nothing is
          // cached and the error is thrown below as it was (bentocache would wrap it, and log it).
          if (read.grace) throw error;
          return ctx.skip() as T;
        }
        loaded = { value: result };
        // "None" is not cached: a record made later under that key (a seed, a fixture) must be seen.
        if (result === null) return ctx.skip() as T;
        if (this.generations[bucket] !== generation || this.clears !== clears) {
          stats.discarded++;
          return ctx.skip() as T;
        }
        if (this.bus && !memoryOnly(namespace)) this.rememberFill(namespace, read.key);
        return result;
      },
    });
    // The factory's own error reaches the caller unchanged (an AppError, a database error the error
    // handler maps), not wrapped in bentocache's E_FACTORY_ERROR.
    const value = await lookup.catch((error: unknown) => {
      throw failed ? failed.error : error;
    });
    if (failed && !read.grace) throw failed.error;
    // Frozen like the value a hit shares (cache-serializer.ts); its copy in the cache is already written.
    if (loaded) return deepFreeze(loaded.value);
    // A value computed by this call's own factory was returned above; this one came from the cache.
    if (value === undefined) return deepFreeze(await read.factory());
    stats.hits++;
    return value;
  }

  /**
   * Deletes keys from this process at once, and from Redis and every other instance (whose memory
   * copies are gone once the delete returns; see cache-bus.ts). While Redis is unreachable the rest
   * is retried every few seconds until it goes through, and the keys are read from the database
   * meanwhile, so an entry deleted during an outage cannot come back from Redis afterwards. (Other
   * instances keep their memory copies until then: without Redis they cannot be told.)
   */
  async invalidate(namespace: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.bump(keys);
    try {
      await this.deleteEverywhere(namespace, keys);
    } catch {
      this.defer(namespace, keys);
    }
  }

  /** Where the key's invalidations stand now, for `setUnlessChanged` after a read of the database. */
  stamp(key: string): string {
    return `${this.generations[fnv(key)]}:${this.clears}`;
  }

  /**
   * Caches a value read from the database since `stamp`, unless the key was invalidated meanwhile
   * (here or on another instance): then the value may predate a change, and is left out. True if set.
   */
  async setUnlessChanged(namespace: string, key: string, value: unknown, ttl: number, stamp: string): Promise<boolean> {
    if (this.stamp(key) !== stamp || ttl <= 0) return false;
    if (this.pending.size > 0 && this.pending.get(namespace)?.has(key)) return false;
    await this.namespace(namespace).set({ key, value, ttl, suppressL2Errors: true });
    if (this.bus) this.rememberFill(namespace, key);
    return true;
  }

  /** Drops a whole namespace here, in Redis and on every instance. */
  async clear(namespace: string): Promise<void> {
    this.clears++;
    await this.namespace(namespace).clear();
  }

  /** Invalidations still waiting for Redis. */
  get pendingCount(): number {
    let count = 0;
    for (const keys of this.pending.values()) count += keys.size;
    return count;
  }

  /** Hits and misses per namespace since start, for metrics. */
  stats(): Record<string, NamespaceStats> {
    return Object.fromEntries([...this.counters].map(([name, stats]) => [name, { ...stats }]));
  }

  async retryPending(): Promise<void> {
    for (const [namespace, keys] of this.pending) {
      try {
        await this.deleteEverywhere(namespace, [...keys]);
        this.pending.delete(namespace);
      } catch {
        return; // still unreachable: next tick
      }
    }
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  private defer(namespace: string, keys: string[]): void {
    const waiting = this.pending.get(namespace) ?? new Set<string>();
    for (const key of keys) waiting.add(key);
    this.pending.set(namespace, waiting);
    this.log.warn({ namespace, count: keys.length }, 'cache invalidation could not reach Redis; retrying');
    this.retryTimer ??= setInterval(() => void this.retryPending(), RETRY_INTERVAL_MS).unref();
  }

  private statsOf(name: string): NamespaceStats {
    let stats = this.counters.get(name);
    if (!stats) {
      stats = { hits: 0, misses: 0, discarded: 0, bypassed: 0 };
      this.counters.set(name, stats);
    }
    return stats;
  }

  private rememberFill(namespace: string, key: string): void {
    const now = Date.now();
    if (this.recentFills.size >= MEMORY_MAX_ITEMS) {
      for (const [id, fill] of this.recentFills) {
        if (now - fill.at > REFILL_GUARD_MS || this.recentFills.size >= MEMORY_MAX_ITEMS) this.recentFills.delete(id);
        else break;
      }
    }
    this.recentFills.delete(key); // re-inserted last: the map stays in fill order
    this.recentFills.set(key, { at: now, namespace });
  }

  private bump(keys: string[]): void {
    for (const key of keys) this.generations[fnv(key)]! += 1;
  }

  /**
   * The bus was cut off for a while: another instance's deletes may not have reached this one, so its
   * memory copies may be old. They are all dropped (Redis's copies were deleted by those writes), and
   * fills under way are not cached.
   */
  private deletesMissed(): void {
    this.clears++;
    for (const clear of this.memory.clears) clear();
    this.log.warn('the cache bus listens again: memory copies dropped, as invalidations may have been missed');
  }

  /** Another instance deleted keys or cleared a namespace (the bus has already updated memory). */
  private remoteChange(type: string, keys: string[]): void {
    if (type === 'clear') {
      this.clears++;
      return;
    }
    if (type !== 'delete') return;
    this.bump(keys);
    const now = Date.now();
    for (const key of keys) {
      const fill = this.recentFills.get(key);
      if (!fill) continue;
      this.recentFills.delete(key);
      // This instance's copy in Redis may predate the change: delete it again.
      if (now - fill.at <= REFILL_GUARD_MS) void this.invalidate(fill.namespace, [key]);
    }
  }

  // One delete per key: bentocache's deleteMany sends a Redis pipeline, whose per-command errors
  // it does not report, so a deletion that never reached Redis would look done.
  private async deleteEverywhere(namespace: string, keys: string[]): Promise<void> {
    const entries = this.namespace(namespace);
    await Promise.all(keys.map((key) => entries.delete({ key, suppressL2Errors: false })));
  }

  async close(): Promise<void> {
    clearInterval(this.retryTimer);
    await this.bento.disconnectAll();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    cache: Cache;
  }
}

export const cachePlugin = fp(
  async (app: FastifyInstance, opts: { redis: Redis | null; keyPrefix: string; connectWaitMs: number }) => {
    // Only warnings and errors: bentocache's debug lines name keys, and some keys are session tokens.
    const quiet = ['error', 'fatal', 'silent'].includes(app.log.level) ? app.log.level : 'warn';
    const log = app.log.child({ module: 'cache' }, { level: quiet });
    // The L2 driver closes its connection on disconnect, so it gets one of its own.
    const l2 = opts.redis?.duplicate() ?? null;
    l2?.on('error', () => {});
    const bus: BusObserver | null = opts.redis ? { onRemoteChange: () => {}, onListening: () => {} } : null;
    const memory: MemoryLayers = { clears: [] };
    const cache = new Cache(createBento(opts.redis, l2, opts.keyPrefix, log, bus, memory), log, bus, memory);
    // Invalidations that waited for Redis go through as soon as it is back, not at the next retry tick.
    l2?.on('ready', () => void cache.retryPending());
    app.decorate('cache', cache);
    app.addHook('onClose', () => cache.close());
    // Commands fail at once while Redis is unreachable, so give it a moment to connect at start.
    // And for the bus to listen: an instance serving before it does could keep a copy another instance's
    // delete never reached.
    if (opts.redis && l2) {
      const connected = await Promise.all([
        ...[opts.redis, l2].map((client) => whenConnected(client, opts.connectWaitMs)),
        cache.untilListening(opts.connectWaitMs),
      ]);
      if (!connected.every(Boolean)) log.warn('Redis is unreachable; the cache runs on memory and the database');
    }
  },
  { name: 'cache' },
);
