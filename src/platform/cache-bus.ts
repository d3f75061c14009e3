import type { Serializable, SubscribeHandler, Transport } from '@boringnode/bus/types/main';
import type { CreateBusDriverResult } from 'bentocache/types';
import { randomUUID } from 'node:crypto';
import type { Redis } from './redis.js';

/**
 * How long a delete waits for the other instances to confirm they dropped their memory copies. An
 * instance that does not answer in time (stalled, or cut off from Redis) is not waited for further;
 * one that is gone is not counted at all (Redis reports how many subscribers received the message).
 */
const ACK_WAIT_MS = 250;

/** Told of every change another instance announces (after memory was updated). */
export interface BusObserver {
  onRemoteChange: (type: string, keys: string[]) => void;
  /**
   * Redis has confirmed this instance's subscriptions, at its first connection or after it lost it.
   * `missed`: after a lost connection, whatever was announced meanwhile was missed (Redis does not
   * keep messages for an absent subscriber).
   */
  onListening: (missed: boolean) => void;
}

interface Envelope {
  busId?: unknown;
  /** Set on deletes and clears: the sender waits for an acknowledgement under this id. */
  ackId?: unknown;
  payload?: Serializable;
}

interface Waiting {
  /** How many instances received the message; null until PUBLISH answered. */
  expected: number | null;
  acked: number;
  done: () => void;
}

const isInvalidation = (payload: Serializable) => {
  const type = (payload as { type?: unknown } | null)?.type;
  return type === 'delete' || type === 'clear';
};

/**
 * The Redis transport of bentocache's invalidation bus, with two connections that fail differently.
 *
 * The publisher fails fast like every other command (a message that cannot be sent goes to the
 * bus's retry queue), so a cache write never waits on a Redis that is down. The subscriber waits
 * for Redis instead of giving up: its one SUBSCRIBE is sent whenever Redis is first reachable, and
 * ioredis renews it after every reconnect. (bentocache's own Redis bus uses one set of options for
 * both; started while Redis was down, it never subscribed and left an unhandled rejection.)
 *
 * A delete is acknowledged: the publishing instance waits (up to ACK_WAIT_MS) until every other
 * instance that received it has dropped its memory copy, so that a read on any instance right after
 * a write returned sees the change. bentocache's bus alone is fire-and-forget, and another instance
 * could answer from its memory before the message arrived.
 */
class RedisBusTransport implements Transport {
  private id = '';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, SubscribeHandler<Serializable>[]>();
  private readonly waiting = new Map<string, Waiting>();
  private ackChannel = '';

  constructor(
    redis: Redis,
    private readonly observer: BusObserver,
    /** Put before every channel's name (REDIS_KEY_PREFIX): deployments sharing a Redis never hear each other. */
    private readonly prefix: string,
  ) {
    this.publisher = redis.duplicate();
    this.subscriber = redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
    // Outages surface through the readiness check and the bus's retry queue, not as console noise.
    this.publisher.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (channel: string, raw: string) => this.deliver(channel, raw));
    // ioredis has sent the subscriptions (renewed after a reconnect, or queued while it connected) before
    // it says 'ready': a PING answered after them says Redis has them all. Until then, deletes announced
    // by other instances may not reach this one, so memory is dropped only once they can.
    let listenedBefore = false;
    this.subscriber.on('ready', () => {
      this.subscriber.ping().then(
        () => {
          this.observer.onListening(listenedBefore);
          listenedBefore = true;
        },
        () => {}, // the connection dropped again: its next 'ready' asks again
      );
    });
  }

  setId(id: string): Transport {
    // Shared by the cache's stores (one bus each): the first id names this instance on every channel.
    if (this.id) return this;
    this.id = id;
    this.ackChannel = `${this.prefix}bentocache.ack:${id}`;
    void this.subscriber.subscribe(this.ackChannel).catch(() => {});
    return this;
  }

  onReconnect(callback: () => void): void {
    this.subscriber.on('reconnecting', callback);
  }

  async publish(channel: string, payload: Serializable): Promise<void> {
    if (!isInvalidation(payload)) {
      await this.publisher.publish(this.prefix + channel, JSON.stringify({ busId: this.id, payload }));
      return;
    }
    const ackId = randomUUID();
    const entry: Waiting = { expected: null, acked: 0, done: () => {} };
    const acknowledged = new Promise<void>((resolve) => (entry.done = resolve));
    const timer = setTimeout(entry.done, ACK_WAIT_MS);
    this.waiting.set(ackId, entry);
    try {
      const received = await this.publisher.publish(
        this.prefix + channel,
        JSON.stringify({ busId: this.id, ackId, payload }),
      );
      // Our own subscriber is among the receivers, and does not answer.
      entry.expected = received - (this.subscriber.status === 'ready' ? 1 : 0);
      if (entry.acked < entry.expected) await acknowledged;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(ackId);
    }
  }

  async subscribe<T extends Serializable>(channel: string, handler: SubscribeHandler<T>): Promise<void> {
    const named = this.prefix + channel;
    this.handlers.set(named, [...(this.handlers.get(named) ?? []), handler as SubscribeHandler<Serializable>]);
    // Never rejects while Redis is merely down; only when the app closes before it ever came up.
    await this.subscriber.subscribe(named).catch(() => {});
  }

  async unsubscribe(channel: string): Promise<void> {
    this.handlers.delete(this.prefix + channel);
    await this.subscriber.unsubscribe(this.prefix + channel);
  }

  async disconnect(): Promise<void> {
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => this.publisher.disconnect());
  }

  private deliver(channel: string, raw: string): void {
    if (channel === this.ackChannel) {
      this.acknowledge(raw);
      return;
    }
    let message: Envelope;
    try {
      message = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    // Our own messages come back to us; the local cache already has that change.
    if (message.busId === this.id || message.payload === undefined) return;
    // bentocache's handler updates memory synchronously, before its first await.
    for (const handler of this.handlers.get(channel) ?? []) {
      void Promise.resolve(handler(message.payload)).catch(() => {});
    }
    const { type, keys } = message.payload as { type?: unknown; keys?: unknown };
    if (typeof type === 'string') this.observer.onRemoteChange(type, Array.isArray(keys) ? keys.map(String) : []);
    if (typeof message.ackId === 'string' && typeof message.busId === 'string') {
      void this.publisher.publish(`${this.prefix}bentocache.ack:${message.busId}`, message.ackId).catch(() => {});
    }
  }

  /** Counts another instance's acknowledgement; an early one (before PUBLISH answered) counts too. */
  private acknowledge(ackId: string): void {
    const entry = this.waiting.get(ackId);
    if (!entry) return;
    entry.acked++;
    if (entry.expected !== null && entry.acked >= entry.expected) entry.done();
  }
}

/**
 * bentocache's bus driver on RedisBusTransport. Every store given this driver shares one transport
 * (one pair of connections); each store has its own channel on it.
 */
export function redisBus(redis: Redis, observer: BusObserver, prefix: string): CreateBusDriverResult {
  let transport: RedisBusTransport | undefined;
  return {
    options: { retryQueue: { enabled: true, maxSize: 10_000 } },
    factory: () => (transport ??= new RedisBusTransport(redis, observer, prefix)),
  };
}
