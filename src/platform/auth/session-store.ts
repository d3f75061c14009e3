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
export class SessionStore {
  private static readonly NAMESPACE = 'auth';
  private readonly entries;

  constructor(
    private readonly cache: Cache,
    private readonly db: Executor,
  ) {
    this.entries = cache.namespace(SessionStore.NAMESPACE);
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

  /** Drops cached sessions whose rows Wardline deleted itself, so the tokens stop working everywhere now. */
  forget(tokens: string[]): Promise<void> {
    return this.cache.invalidate(SessionStore.NAMESPACE, tokens);
  }

  /** Drops every cached session and verification, here and on every instance (after a change of secret). */
  async forgetAll(): Promise<void> {
    await this.entries.clear();
  }

  /**
   * Drops every cached session of a user whose record changed (platform role, ban, two-factor...):
   * each cached session carries a copy of the user. Better Auth refreshes those copies itself, but
   * through a per-user list that the memory layer may have evicted; the database cannot be stale.
   */
  async forgetUser(userId: string): Promise<void> {
    const rows = await this.db.select({ token: sessions.token }).from(sessions).where(eq(sessions.userId, userId));
    await this.forget(rows.map((row) => row.token));
  }
}
