import { and, asc, eq, type SQL } from 'drizzle-orm';
import { members, sessions, users } from '../../platform/auth/auth.schema.js';
import type { Executor } from '../../platform/db/database.js';
import { afterCursor } from '../../platform/db/keyset.js';
import type { Cursor } from '../../platform/http/pagination.js';

const columns = {
  id: users.id,
  name: users.name,
  email: users.email,
  role: members.role,
  twoFactorEnabled: users.twoFactorEnabled,
  joinedAt: members.createdAt,
};

export type MemberRow = {
  id: string;
  name: string;
  email: string;
  role: string;
  twoFactorEnabled: boolean | null;
  joinedAt: Date;
};

/** All SQL on an organization's members; every query is filtered by the organization. */
export class UsersRepository {
  constructor(
    private readonly db: Executor,
    private readonly organizationId: string,
  ) {}

  private scoped(...conditions: (SQL | undefined)[]) {
    return and(eq(members.organizationId, this.organizationId), ...conditions);
  }

  list(limit: number, cursor: Cursor | undefined): Promise<MemberRow[]> {
    return this.db
      .select(columns)
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.scoped(afterCursor(members.createdAt, members.userId, cursor)))
      .orderBy(asc(members.createdAt), asc(members.userId))
      .limit(limit + 1);
  }

  async find(userId: string): Promise<MemberRow | undefined> {
    const [row] = await this.db
      .select(columns)
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.scoped(eq(members.userId, userId)));
    return row;
  }

  /** Admins of the organization, locked so two concurrent demotions cannot both pass the last-admin check. */
  async lockAdmins(): Promise<number> {
    const rows = await this.db
      .select({ id: members.id })
      .from(members)
      .where(this.scoped(eq(members.role, 'admin')))
      .for('update');
    return rows.length;
  }

  async setRole(userId: string, role: string): Promise<void> {
    await this.db
      .update(members)
      .set({ role })
      .where(this.scoped(eq(members.userId, userId)));
  }

  async remove(userId: string): Promise<void> {
    await this.db.delete(members).where(this.scoped(eq(members.userId, userId)));
  }

  /** Signs the user out everywhere: sessions, and with them bearer tokens, stop working at once. */
  async revokeSessions(userId: string): Promise<void> {
    await this.db.delete(sessions).where(eq(sessions.userId, userId));
  }
}
