import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis, RedisOptions } from 'ioredis';

const ignore = () => {};

/**
 * socket.io's Redis Streams adapter on ioredis (it takes an ioredis client as well as a node-redis
 * one, so no second Redis library): every broadcast is appended to a stream that each instance
 * reads, and with connection state recovery a dropped socket's session is kept in Redis, so it
 * recovers on whichever instance it reconnects to.
 *
 * Its connections are its own, made from the app's client:
 * - the publisher fails fast while Redis is down, like the app's client: a broadcast waits for its
 *   stream append, and must reach this instance's sockets at once instead of queueing for Redis;
 * - the stream readers and the subscriber it duplicates from the publisher queue their commands
 *   until Redis is back (a reader whose XREAD failed at once would retry in a tight loop);
 * - the publisher's fire-and-forget commands (the session SET on a disconnect, PUBLISH) get a
 *   rejection handler: the adapter does not catch them, and an unhandled rejection ends the process.
 */
export function redisStreamsAdapter(redis: Redis, keyPrefix: string) {
  const spawned: Redis[] = [];
  /** Gives `client`'s commands `names`, which the adapter calls without awaiting, a rejection handler. */
  const caught = (client: Redis, names: readonly ('set' | 'publish' | 'spublish' | 'subscribe' | 'ssubscribe')[]) => {
    for (const name of names) {
      const original = client[name].bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        const result = original(...args);
        result.catch(ignore);
        return result;
      };
    }
  };
  const own = (client: Redis) => {
    client.on('error', ignore);
    spawned.push(client);
    return client;
  };
  const publisher = own(redis.duplicate());
  // The subscriber's SUBSCRIBE is queued until Redis answers; closing before then rejects it.
  publisher.duplicate = (override?: Partial<RedisOptions>) => {
    const client = own(redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, ...override }));
    caught(client, ['subscribe', 'ssubscribe']);
    return client;
  };
  caught(publisher, ['set', 'publish', 'spublish']);
  const name = `${keyPrefix}socket.io`;
  return {
    adapter: createAdapter(publisher, { streamName: name, channelPrefix: name, sessionKeyPrefix: `${name}:session:` }),
    /** Ends the adapter's connections; call after socket.io has closed the adapter (which stops its readers). */
    close(): void {
      for (const client of spawned) client.disconnect();
    },
  };
}
