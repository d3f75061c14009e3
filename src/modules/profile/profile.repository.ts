import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { sessions } from '../../platform/auth/auth.schema.js';
import type { Executor } from '../../platform/db/database.js';
import { afterCursor } from '../../platform/db/keyset.js';
import type { Cursor } from '../../platform/http/pagination.js';

export type SessionRow = {
  id: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  ipAddress: string | null;
  userAgent: string | null;
};

/** All SQL on one user's own sessions; every query is filtered by the user. */
export class ProfileRepository {
  constructor(
    private readonly db: Executor,
    private readonly userId: string,
  ) {}

  private scoped(...conditions: (SQL | undefined)[]) {
    return and(eq(sessions.userId, this.userId), ...conditions);
  }

  /** Live sessions, oldest first. The session token is never selected. */
  listSessions(now: Date, limit: number, cursor: Cursor | undefined): Promise<SessionRow[]> {
    return this.db
      .select({
        id: sessions.id,
        createdAt: sessions.createdAt,
        updatedAt: sessions.updatedAt,
        expiresAt: sessions.expiresAt,
        ipAddress: sessions.ipAddress,
        userAgent: sessions.userAgent,
      })
      .from(sessions)
      .where(this.scoped(gt(sessions.expiresAt, now), afterCursor(sessions.createdAt, sessions.id, cursor)))
      .orderBy(asc(sessions.createdAt), asc(sessions.id))
      .limit(limit + 1);
  }

  /** The token of one of the user's sessions, needed only to drop it from the session cache. */
  async sessionToken(id: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ token: sessions.token })
      .from(sessions)
      .where(this.scoped(eq(sessions.id, id)));
    return row?.token;
  }

  /** Ends one session (and the bearer token that is its token). */
  async deleteSession(id: string): Promise<void> {
    await this.db.delete(sessions).where(this.scoped(eq(sessions.id, id)));
  }
}
