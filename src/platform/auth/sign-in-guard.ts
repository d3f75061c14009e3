import { createHash } from 'node:crypto';
import { and, asc, eq, gt, lte } from 'drizzle-orm';
import { type Clock, systemClock } from '../clock.js';
import type { Db } from '../db/database.js';
import { signInFailures } from './auth.schema.js';

export interface SignInGuardOptions {
  maxFailures: number;
  windowSeconds: number;
  now?: Clock;
}

/** A sign-in attempt let through (retryAfter 0, with the id of its row), or refused (retryAfter > 0). */
export type Attempt = { id: string; retryAfter: 0 } | { id: null; retryAfter: number };

/**
 * Per-account brute-force lockout. Every attempt is recorded before the password is checked and
 * counted as a failure until it succeeds, so concurrent guesses cannot exceed the limit; after
 * `maxFailures` failures within the window the account is locked until enough of them age out.
 * Kept in the database, so every instance agrees.
 */
export class SignInGuard {
  private readonly now: Clock;

  constructor(
    private readonly db: Db,
    private readonly options: SignInGuardOptions,
  ) {
    this.now = options.now ?? systemClock;
  }

  private key(email: string): string {
    return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
  }

  private windowStart(): Date {
    return new Date(this.now().getTime() - this.options.windowSeconds * 1000);
  }

  async begin(email: string, ipAddress: string | undefined): Promise<Attempt> {
    const accountKey = this.key(email);
    await this.prune();
    const [row] = await this.db
      .insert(signInFailures)
      .values({ accountKey, ipAddress, failedAt: this.now() })
      .returning({ id: signInFailures.id });
    const recent = await this.db
      .select({ id: signInFailures.id, failedAt: signInFailures.failedAt })
      .from(signInFailures)
      .where(and(eq(signInFailures.accountKey, accountKey), gt(signInFailures.failedAt, this.windowStart())))
      .orderBy(asc(signInFailures.failedAt), asc(signInFailures.id));
    const earlier = recent.filter((failure) => failure.id !== row!.id);
    const { maxFailures, windowSeconds } = this.options;
    if (earlier.length < maxFailures) return { id: row!.id, retryAfter: 0 };

    await this.discard(row!.id);
    // The lock lifts when the failure that brings the count below the limit ages out.
    const releasing = earlier[earlier.length - maxFailures]!.failedAt;
    const releaseAt = releasing.getTime() + windowSeconds * 1000;
    return { id: null, retryAfter: Math.max(1, Math.ceil((releaseAt - this.now().getTime()) / 1000)) };
  }

  /** The right password: the account's failures are forgotten. */
  async succeeded(email: string): Promise<void> {
    await this.db.delete(signInFailures).where(eq(signInFailures.accountKey, this.key(email)));
  }

  /** Neither success nor a wrong password (bad input, server error): the attempt does not count. */
  async discard(id: string): Promise<void> {
    await this.db.delete(signInFailures).where(eq(signInFailures.id, id));
  }

  /** Drops failures that have aged out of the window, for every account. */
  async prune(): Promise<void> {
    await this.db.delete(signInFailures).where(lte(signInFailures.failedAt, this.windowStart()));
  }
}
