import { Redis } from 'ioredis';

export type { Redis };

/** One shared ioredis client; commands fail fast while Redis is down instead of queueing forever. */
export function connectRedis(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
  // Connection errors surface through readiness checks and failing commands; the client reconnects.
  client.on('error', () => {});
  return client;
}
