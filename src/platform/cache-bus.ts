import type { Serializable, SubscribeHandler, Transport } from '@boringnode/bus/types/main';
import type { CreateBusDriverResult } from 'bentocache/types';
import type { Redis } from './redis.js';

/**
 * The Redis transport of bentocache's invalidation bus, with two connections that fail differently.
 *
 * The publisher fails fast like every other command (a message that cannot be sent goes to the
 * bus's retry queue), so a cache write never waits on a Redis that is down. The subscriber waits
 * for Redis instead of giving up: its one SUBSCRIBE is sent whenever Redis is first reachable, and
 * ioredis renews it after every reconnect. (bentocache's own Redis bus uses one set of options for
 * both; started while Redis was down, it never subscribed and left an unhandled rejection.)
 */
class RedisBusTransport implements Transport {
  private id = '';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, SubscribeHandler<Serializable>[]>();

  constructor(redis: Redis) {
    this.publisher = redis.duplicate();
    this.subscriber = redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    // Outages surface through the readiness check and the bus's retry queue, not as console noise.
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (channel: string, raw: string) => this.deliver(channel, raw));
  }

  setId(id: string): Transport {
    this.id = id;
    return this;
  }

  onReconnect(callback: () => void): void {
    this.subscriber.on('reconnecting', callback);
  }

  async publish(channel: string, payload: Serializable): Promise<void> {
    await this.publisher.publish(channel, JSON.stringify({ busId: this.id, payload }));
  }

  async subscribe<T extends Serializable>(channel: string, handler: SubscribeHandler<T>): Promise<void> {
    this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), handler as SubscribeHandler<Serializable>]);
    // Never rejects while Redis is merely down; only when the app closes before it ever came up.
    await this.subscriber.subscribe(channel).catch(() => {});
  }

  async unsubscribe(channel: string): Promise<void> {
    this.handlers.delete(channel);
    await this.subscriber.unsubscribe(channel);
  }

  async disconnect(): Promise<void> {
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }

  private deliver(channel: string, raw: string): void {
    let message: { busId?: unknown; payload?: Serializable };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      return;
    }
    // Our own messages come back to us; the local cache already has that change.
    if (message.busId === this.id || message.payload === undefined) return;
    for (const handler of this.handlers.get(channel) ?? []) {
      void Promise.resolve(handler(message.payload)).catch(() => {});
    }
  }
}

/** bentocache's bus driver on RedisBusTransport. */
export function redisBus(redis: Redis): CreateBusDriverResult {
  return { options: { retryQueue: { enabled: true, maxSize: 10_000 } }, factory: () => new RedisBusTransport(redis) };
}
