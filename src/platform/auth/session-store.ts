import { createHash, randomUUID } from 'node:crypto';
import type { SecondaryStorage } from '@better-auth/core/db';
import { eq } from 'drizzle-orm';
import type { Cache } from '../cache.js';
import type { Executor } from '../db/database.js';
import { sessions } from './auth.schema.js';

/**
 * Better Auth's secondary storage on the shared cache, so that looking up a session (and its
 * user) does not cost a database round trip on every request. PostgreSQL stays the record:
 * sessions are also written there (`storeSessionInDatabase`), a cache miss falls back to it, and
 * a restart or an evicted entry only makes the next lookups slower.
 *
 * A read or write that cannot reach Redis falls back to memory and the database; a delete (a
 * sign-out, a revocation) takes effect here at once and is retried on Redis until it goes through
 * (see Cache.invalidate).
 */
/**
 * How long a verified API key is served from the cache. Every revocation made through Wardline (key
 * deleted, owner banned or given a new password by an admin) takes effect at once (see `apiKey`);
 * this bounds only changes made directly in the database, and how often a key's "last used" is
 * written (on a miss).
 */
const API_KEY_TTL_MS = 60_000;

/** Sessions whose parsed form is kept (see `SessionStore.parsed`). */
const PARSED_SESSIONS_MAX = 10_000;

/** A verified API key, as cached: whose it is, until when, and the owner's key generation it was seen in. */
interface CachedKey<P> {
  principal: P;
  userId: string;
  expiresAt: number | null;
  /** Null: verified once, owner not yet known at the time: verified again on the next use. */
  generation: string | null;
}

export class SessionStore {
  private static readonly NAMESPACE = 'auth';
  private static readonly API_KEYS = 'api-keys';
  private readonly entries;
  private readonly keys;
  /**
   * Better Auth's reading of a cached session (JSON, dates, its field filters) was about a quarter of
   * what a warm bearer request cost; it depends on the cached text alone, so it is kept and reused for
   * as long as the cache holds the very same text. The cache stays the authority: a sign-out or
   * revocation deletes the text, an update changes it, and either way the next lookup reads it again.
   */
  private readonly parsed = new Map<string, { text: string; found: unknown }>();

  constructor(
    private readonly cache: Cache,
    private readonly db: Executor,
  ) {
    this.entries = cache.namespace(SessionStore.NAMESPACE);
    this.keys = cache.namespace(SessionStore.API_KEYS);
  }

  /**
   * The principal behind an API key: cached under the key's SHA-256 (never the key itself) once
   * `verify` (Better Auth's check, and the owner's) accepted it; a refusal is not cached.
   *
   * Each entry carries the owner's current key generation, a random token kept in the cache too
   * (`generation:<userId>`). `forgetUser` deletes that token everywhere, so every key of the user
   * is verified against the database again on its next use: a revoked key stops at once, on every
   * instance, without an index of which keys a user has. A lost or evicted token only costs a miss.
   */
  async apiKey<P>(key: string, verify: () => Promise<{ principal: P; userId: string; expiresAt: Date | null } | null>) {
    const hash = createHash('sha256').update(key).digest('hex');
    const cached = await this.keys.get<CachedKey<P>>({ key: hash, suppressL2Errors: true });
    const before = cached ? await this.generationOf(cached.userId) : null;
    if (cached && cached.generation === before && (cached.expiresAt === null || cached.expiresAt > Date.now())) {
      return cached.principal;
    }
    // The owner's generation is read before the database: a revocation that commits while the key is
    // being verified deletes it, so the entry written below with the old one is never served. A key
    // seen for the first time has no known owner yet: it is remembered unconfirmed (generation null,
    // never served) and trusted from its second verification on.
    const verified = await verify();
    if (!verified) return null;
    const generation = before !== null && cached?.userId === verified.userId ? before : null;
    const expiresAt = verified.expiresAt?.getTime() ?? null;
    const ttl = expiresAt === null ? API_KEY_TTL_MS : Math.min(API_KEY_TTL_MS, expiresAt - Date.now());
    if (ttl > 0) {
      const entry: CachedKey<P> = { principal: verified.principal, userId: verified.userId, expiresAt, generation };
      await this.keys.set({ key: hash, value: entry, ttl, suppressL2Errors: true });
    }
    return verified.principal;
  }

  private generationOf(userId: string): Promise<string> {
    return this.keys.getOrSet({
      key: `generation:${userId}`,
      ttl: API_KEY_TTL_MS * 10,
      suppressL2Errors: true,
      factory: async () => randomUUID(),
    });
  }

  /**
   * What Better Auth is configured with. Sessions and verification values (two-factor challenges)
   * are mirrored here; both are also kept in the database, and API keys only there.
   */
  readonly storage: SecondaryStorage = {
    get: async (key) => (await this.entries.get<string>({ key, suppressL2Errors: true })) ?? null,
    set: async (key, value, ttl) => {
      await this.entries.set({ key, value, ttl: ttl === undefined ? undefined : ttl * 1000, suppressL2Errors: true });
    },
    delete: (key) => this.cache.invalidate(SessionStore.NAMESPACE, [key]),
    // Better Auth calls these only for verifications kept in storage alone (ours are consumed in
    // the database, atomically) and for its own rate limiter (off: @fastify/rate-limit owns counters).
    getAndDelete: () => {
      throw new Error('verifications are consumed in the database, not in the session store');
    },
    increment: () => {
      throw new Error('counters are not kept in the session store');
    },
  };

  /**
   * Better Auth's session lookup for a bearer token, with the cache filled again when it had to read
   * the database (Better Auth does not: a session whose cached copy was evicted, lost with Redis, or
   * made before a restart would cost a database round trip on every request until it is written
   * again). A copy is not put back if the session was deleted or changed while it was being read.
   */
  async findSession<F extends { session: { expiresAt: Date } }>(token: string, find: () => Promise<F | null>) {
    const stamp = this.cache.stamp(token);
    const cached = await this.entries.get<string>({ key: token, suppressL2Errors: true });
    if (cached != null) {
      const parsed = this.parsed.get(token);
      if (parsed?.text === cached) return parsed.found as F;
    }
    const found = await find();
    if (found && cached == null) {
      const ttl = found.session.expiresAt.getTime() - Date.now();
      await this.cache.setUnlessChanged(SessionStore.NAMESPACE, token, JSON.stringify(found), ttl, stamp);
    } else if (found && cached != null) {
      this.rememberParsed(token, cached, found);
    }
    return found;
  }

  private rememberParsed(token: string, text: string, found: unknown): void {
    this.parsed.delete(token);
    this.parsed.set(token, { text, found });
    // The oldest first (insertion order); one entry per session recently seen by this instance.
    if (this.parsed.size > PARSED_SESSIONS_MAX) this.parsed.delete(this.parsed.keys().next().value!);
  }

  /** Drops cached sessions whose rows Wardline deleted itself, so the tokens stop working everywhere now. */
  forget(tokens: string[]): Promise<void> {
    for (const token of tokens) this.parsed.delete(token);
    return this.cache.invalidate(SessionStore.NAMESPACE, tokens);
  }

  /** Drops every cached session and verification, here and on every instance (after a change of secret). */
  async forgetAll(): Promise<void> {
    this.parsed.clear();
    await this.entries.clear();
  }

  /**
   * Drops every cached session and API key of a user whose record changed (platform role, ban,
   * two-factor, a key deleted...):
   * each carries a copy of the user. Better Auth refreshes those copies itself, but
   * through a per-user list that the memory layer may have evicted; the database cannot be stale.
   */
  async forgetUser(userId: string): Promise<void> {
    const rows = await this.db.select({ token: sessions.token }).from(sessions).where(eq(sessions.userId, userId));
    await Promise.all([
      this.forget(rows.map((row) => row.token)),
      this.cache.invalidate(SessionStore.API_KEYS, [`generation:${userId}`]),
    ]);
  }
}
