import { createHash } from 'node:crypto';
import { and, asc, eq, gt, lte } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { signInFailures } from './auth.schema.js';

export interface SignInGuardOptions {
  maxFailures: number;
  windowSeconds: number;
  now?: () => Date;
}

/**
 * Per-account brute-force lockout: after `maxFailures` failed sign-ins within the window, the
 * account is locked until enough of them age out. Kept in the database so every instance agrees.
 */
export class SignInGuard {
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly options: SignInGuardOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  private key(email: string): string {
    return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
  }

  private windowStart(): Date {
    return new Date(this.now().getTime() - this.options.windowSeconds * 1000);
  }

  /** Seconds until the account may try again, or 0 when it is not locked. */
  async retryAfter(email: string): Promise<number> {
    const failures = await this.db
      .select({ failedAt: signInFailures.failedAt })
      .from(signInFailures)
      .where(and(eq(signInFailures.accountKey, this.key(email)), gt(signInFailures.failedAt, this.windowStart())))
      .orderBy(asc(signInFailures.failedAt));
    const { maxFailures, windowSeconds } = this.options;
    if (failures.length < maxFailures) return 0;
    // The lock lifts when the failure that brings the count below the limit ages out.
    const releasing = failures[failures.length - maxFailures]!.failedAt;
    const releaseAt = releasing.getTime() + windowSeconds * 1000;
    return Math.max(1, Math.ceil((releaseAt - this.now().getTime()) / 1000));
  }

  async recordFailure(email: string, ipAddress: string | undefined): Promise<void> {
    const accountKey = this.key(email);
    await this.db.insert(signInFailures).values({ accountKey, ipAddress, failedAt: this.now() });
    await this.db
      .delete(signInFailures)
      .where(and(eq(signInFailures.accountKey, accountKey), lte(signInFailures.failedAt, this.windowStart())));
  }

  async reset(email: string): Promise<void> {
    await this.db.delete(signInFailures).where(eq(signInFailures.accountKey, this.key(email)));
  }
}
