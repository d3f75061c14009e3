import { eq } from 'drizzle-orm';
import { members } from '../auth/auth.schema.js';
import type { Cache } from '../cache.js';
import type { Executor } from '../db/database.js';
import { isRole } from '../permissions.js';
import type { Membership } from './context.js';

/**
 * How long a user's memberships may be served from the cache. Every change made through Wardline
 * deletes the entry at once; this bounds only what nothing could announce: a change made directly in
 * the database, or, while Redis is unreachable, the copies other instances hold in memory.
 */
const MEMBERSHIPS_TTL_MS = 60_000;

/** Each user's organizations and role in each, read on every /api/v1 request, so cached. */
export class Memberships {
  private static readonly NAMESPACE = 'memberships';

  constructor(
    private readonly db: Executor,
    private readonly cache: Cache,
  ) {}

  /** Cached; a load that overlapped a change (and may predate it) is returned but not cached. */
  of(userId: string): Promise<Membership[]> {
    return this.cache.getOrSet(Memberships.NAMESPACE, Memberships.NAMESPACE, {
      key: userId,
      ttl: MEMBERSHIPS_TTL_MS,
      factory: () => this.load(userId),
    });
  }

  /** Call after a change to the user's memberships has committed. */
  forget(userId: string): Promise<void> {
    return this.cache.invalidate(Memberships.NAMESPACE, [userId]);
  }

  private async load(userId: string): Promise<Membership[]> {
    const rows = await this.db
      .select({ organizationId: members.organizationId, role: members.role })
      .from(members)
      .where(eq(members.userId, userId));
    return rows.flatMap((row) => (isRole(row.role) ? [{ organizationId: row.organizationId, role: row.role }] : []));
  }
}
