import { Redis } from 'ioredis';

export type { Redis };

/**
 * One shared ioredis client. While Redis is down, commands fail at once instead of queueing, so
 * callers fall back (cache to the database, rate limits per instance or skipped) without waiting on
 * reconnects.
 */
export function connectRedis(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  // Connection errors surface through readiness checks and failing commands; the client reconnects.
  client.on('error', () => {});
  return client;
}

/** Resolves once the client is connected, or after `timeoutMs` if Redis does not answer; true if connected. */
export async function whenConnected(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}
