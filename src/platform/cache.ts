import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redisBus } from './cache-bus.js';
import { type Redis, whenConnected } from './redis.js';

/** Entries kept in each process's memory layer; the least recently used go first. */
const MEMORY_MAX_ITEMS = 50_000;
/** How often invalidations that could not reach Redis are tried again. */
const RETRY_INTERVAL_MS = 5_000;

function createBento(redis: Redis | null, l2: Redis | null, prefix: string, logger: FastifyBaseLogger) {
  const store = bentostore().useL1Layer(memoryDriver({ maxItems: MEMORY_MAX_ITEMS }));
  if (redis && l2) store.useL2Layer(redisDriver({ connection: l2 })).useBus(redisBus(redis));
  return new BentoCache({
    default: 'shared',
    stores: { shared: store },
    prefix: `${prefix}cache`,
    // Nothing cached here may be served after it expires: no grace periods.
    grace: false,
    logger,
  });
}

type Bento = ReturnType<typeof createBento>;

/**
 * The shared cache: in-process memory, backed by Redis (L2) with an invalidation bus between
 * instances when REDIS_URL is set. Reads and writes that cannot reach Redis fall back to memory
 * (and their callers to the database). Owners of cached data call `invalidate` when it changes.
 */
export class Cache {
  private readonly pending = new Map<string, Set<string>>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bento: Bento,
    private readonly log: FastifyBaseLogger,
  ) {}

  namespace(name: string) {
    return this.bento.namespace(name);
  }

  /**
   * Deletes keys from this process at once, and from Redis and every other instance. While Redis is
   * unreachable the rest is retried every few seconds until it goes through, so an entry deleted
   * during an outage cannot come back from Redis afterwards. (Other instances keep their memory
   * copies until then: without Redis they cannot be told.)
   */
  async invalidate(namespace: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.deleteEverywhere(namespace, keys);
    } catch {
      const waiting = this.pending.get(namespace) ?? new Set<string>();
      for (const key of keys) waiting.add(key);
      this.pending.set(namespace, waiting);
      this.log.warn({ namespace, count: keys.length }, 'cache invalidation could not reach Redis; retrying');
      this.retryTimer ??= setInterval(() => void this.retryPending(), RETRY_INTERVAL_MS).unref();
    }
  }

  /** Invalidations still waiting for Redis. */
  get pendingCount(): number {
    let count = 0;
    for (const keys of this.pending.values()) count += keys.size;
    return count;
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

  // One delete per key: bentocache's deleteMany sends a Redis pipeline, whose per-command errors
  // it does not report, so a deletion that never reached Redis would look done.
  private async deleteEverywhere(namespace: string, keys: string[]): Promise<void> {
    const entries = this.bento.namespace(namespace);
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
    const cache = new Cache(createBento(opts.redis, l2, opts.keyPrefix, log), log);
    app.decorate('cache', cache);
    app.addHook('onClose', () => cache.close());
    // Commands fail at once while Redis is unreachable, so give it a moment to connect at start.
    if (opts.redis && l2) {
      const connected = await Promise.all([opts.redis, l2].map((client) => whenConnected(client, opts.connectWaitMs)));
      if (!connected.every(Boolean)) log.warn('Redis is unreachable; the cache runs on memory and the database');
    }
  },
  { name: 'cache' },
);
