/**
 * The cache's two bentocache stores: `shared` (memory, then Redis, with the invalidation bus) and
 * `local` (memory and the bus, never Redis), and which namespaces live in which.
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import type { FastifyBaseLogger } from 'fastify';
import { type BusObserver, redisBus } from './cache-bus.js';
import { RememberingJsonSerializer } from './cache-serializer.js';
import type { Redis } from './redis.js';

/**
 * Entries kept in each process's memory, split between its two layers (the memory-only namespaces',
 * and the others'); in each, the least recently used go first.
 */
export const MEMORY_MAX_ITEMS = 50_000;
/**
 * Namespaces (the part of a namespace's name before any `:`) kept in each process's memory only,
 * never written to Redis: patient records are protected health information, and a copy in Redis
 * would be one more place that holds them (its snapshots, its replicas, a connection that may not
 * be encrypted). Their deletes still reach every instance over the bus.
 */
const MEMORY_ONLY = new Set(['patients']);

/** This process's memory layers, once bentocache has made them: cleared when the bus may have missed deletes. */
export interface MemoryLayers {
  clears: (() => void)[];
}

export function createBento(
  redis: Redis | null,
  l2: Redis | null,
  prefix: string,
  logger: FastifyBaseLogger,
  bus: BusObserver | null,
  memory: MemoryLayers,
) {
  const memoryLayer = () => {
    const l1 = memoryDriver({ maxItems: MEMORY_MAX_ITEMS / 2 });
    return {
      ...l1,
      factory: (config: Parameters<typeof l1.factory>[0]) => {
        const driver = l1.factory(config);
        memory.clears.push(() => driver.clear());
        return driver;
      },
    };
  };
  const shared = bentostore().useL1Layer(memoryLayer());
  const local = bentostore().useL1Layer(memoryLayer());
  if (redis && l2 && bus) {
    // One bus connection pair for both stores (each has its own channel).
    const busDriver = redisBus(redis, bus, prefix);
    shared.useL2Layer(redisDriver({ connection: l2 })).useBus(busDriver);
    local.useBus(busDriver);
  }
  return new BentoCache({
    default: 'shared',
    stores: { shared, local },
    prefix: `${prefix}cache`,
    // Nothing cached here may be served after it expires unless a caller asks for grace itself.
    grace: false,
    serializer: new RememberingJsonSerializer(),
    logger,
  });
}

export type Bento = ReturnType<typeof createBento>;

/** Whether a namespace (`patients:<organizationId>`, `auth`) is kept in memory only (see MEMORY_ONLY). */
export const memoryOnly = (namespace: string) => MEMORY_ONLY.has(namespace.split(':', 1)[0]!);
