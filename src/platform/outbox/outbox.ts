import { and, asc, eq, inArray, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { safeError } from '../http/errors.js';
import { outboxMessages } from './outbox.schema.js';

/**
 * The messages units of work may publish, by topic. Modules add theirs by declaration merging:
 * `declare module '../../platform/outbox/outbox.js' { interface OutboxTopics { 'lab.critical': {...} } }`.
 * Every payload carries the tenant; the message carries the request id.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface OutboxTopics {}

export type Topic = Extract<keyof OutboxTopics, string>;

export interface PendingMessage {
  organizationId: string | null;
  topic: string;
  payload: unknown;
  requestId: string | null;
}

export interface DeliveredMessage<P = unknown> {
  id: number;
  organizationId: string | null;
  payload: P;
  requestId: string | null;
  /** 1 on the first delivery; more after failures (handlers must be safe to run twice). */
  attempt: number;
}

type Handler = (message: DeliveredMessage) => Promise<void>;

export interface OutboxOptions {
  /** How often pending messages are looked for, besides right after each commit that wrote some. */
  pollMs: number;
  /** How long a claimed message is reserved for its handler before another run may take it. */
  leaseMs: number;
  /** Backoff of the first retry; doubled each time, up to `maxBackoffMs`. */
  retryMs: number;
  maxBackoffMs: number;
  batchSize: number;
}

const DEFAULTS: OutboxOptions = {
  pollMs: 1_000,
  leaseMs: 60_000,
  retryMs: 1_000,
  maxBackoffMs: 300_000,
  batchSize: 100,
};

/**
 * The transactional outbox. A unit of work inserts messages in its transaction (`insert`); after the
 * commit it calls `kick`, and a timer catches whatever a crash left. Delivery claims due messages
 * with a lease (FOR UPDATE SKIP LOCKED, so several processes share the work), runs their handlers
 * outside any transaction, then marks them delivered, or schedules a retry with exponential
 * backoff. At least once: a handler may see a message twice, never zero times.
 */
export class Outbox {
  private readonly handlers = new Map<string, Handler>();
  private readonly options: OutboxOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private again = false;

  constructor(
    private readonly db: Db,
    private readonly now: Clock,
    private readonly log: FastifyBaseLogger,
    options: Partial<OutboxOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  on<K extends Topic>(topic: K, handler: (message: DeliveredMessage<OutboxTopics[K]>) => Promise<void>): void {
    if (this.handlers.has(topic)) throw new Error(`outbox topic ${String(topic)} already has a handler`);
    this.handlers.set(topic, handler as Handler);
  }

  /** The statement that writes a unit of work's messages, run last in its transaction (none for no messages). */
  inserts(messages: readonly PendingMessage[]): SQL[] {
    if (messages.length === 0) return [];
    // Its SQL, not the query builder: awaited by mistake, that would run on its own, outside the transaction.
    return [
      this.db
        .insert(outboxMessages)
        .values(
          messages.map((message) => ({
            organizationId: message.organizationId,
            topic: message.topic,
            payload: message.payload as object,
            requestId: message.requestId,
            availableAt: this.now(),
          })),
        )
        .getSQL(),
    ];
  }

  start(): void {
    this.timer ??= setInterval(() => this.kick(), this.options.pollMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes up to `limit` messages delivered before `before` (the outbox.prune job); returns how many. */
  async prune(before: Date, limit = 5_000): Promise<number> {
    const old = this.db
      .select({ id: outboxMessages.id })
      .from(outboxMessages)
      .where(lt(outboxMessages.deliveredAt, before))
      .limit(limit);
    const deleted = await this.db
      .delete(outboxMessages)
      .where(inArray(outboxMessages.id, old))
      .returning({ id: outboxMessages.id });
    return deleted.length;
  }

  /** Resolves when no delivery run is going on (nor queued behind one). */
  async settle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Starts a delivery run soon, unless one is running (then another follows it). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deliverDue()
      .catch((error: unknown) => {
        this.log.error({ err: safeError(error as Error) }, 'outbox delivery failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One delivery run over due messages whose topic has a handler here; returns how many were delivered. */
  async deliverDue(): Promise<number> {
    const topics = [...this.handlers.keys()];
    if (topics.length === 0) return 0;
    const now = this.now();
    const due = this.db
      .select({ id: outboxMessages.id })
      .from(outboxMessages)
      .where(
        and(
          isNull(outboxMessages.deliveredAt),
          lte(outboxMessages.availableAt, now),
          inArray(outboxMessages.topic, topics),
        ),
      )
      .orderBy(asc(outboxMessages.id))
      .limit(this.options.batchSize)
      .for('update', { skipLocked: true });
    const claimed = await this.db
      .update(outboxMessages)
      .set({
        availableAt: new Date(now.getTime() + this.options.leaseMs),
        attempts: sql`${outboxMessages.attempts} + 1`,
      })
      .where(inArray(outboxMessages.id, due))
      .returning();
    claimed.sort((a, b) => a.id - b.id);
    let delivered = 0;
    for (const row of claimed) {
      try {
        await this.handlers.get(row.topic)!({
          id: row.id,
          organizationId: row.organizationId,
          payload: row.payload,
          requestId: row.requestId,
          attempt: row.attempts,
        });
        await this.db
          .update(outboxMessages)
          .set({ deliveredAt: this.now(), lastError: null })
          .where(eq(outboxMessages.id, row.id));
        delivered++;
      } catch (error) {
        const backoff = Math.min(this.options.retryMs * 2 ** (row.attempts - 1), this.options.maxBackoffMs);
        // A database error's message carries row values (patient data): keep only what locates the fault.
        const safe = error instanceof Error ? safeError(error) : undefined;
        const reason = safe ? [safe.type, safe.code, safe.message].filter(Boolean).join(': ').slice(0, 200) : 'failed';
        await this.db
          .update(outboxMessages)
          .set({ availableAt: new Date(this.now().getTime() + backoff), lastError: reason })
          .where(eq(outboxMessages.id, row.id));
        this.log.warn({ topic: row.topic, messageId: row.id, attempt: row.attempts, backoff }, 'outbox handler failed');
      }
    }
    return delivered;
  }
}
