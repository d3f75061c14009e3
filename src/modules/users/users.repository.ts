import { and, asc, eq, notExists } from 'drizzle-orm';
import { apiKeys, members, sessions, users } from '../../platform/auth/auth.schema.js';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
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

/** All SQL on an organization's members (Better Auth's `members` table, joined to `users`). */
export class UsersRepository extends TenantRepository {
  list(limit: number, cursor: Cursor | undefined): Promise<MemberRow[]> {
    return this.db
      .select(columns)
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.where(members, afterCursor(members.createdAt, members.userId, cursor)))
      .orderBy(asc(members.createdAt), asc(members.userId))
      .limit(limit + 1);
  }

  async find(userId: string): Promise<MemberRow | undefined> {
    const [row] = await this.db
      .select(columns)
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.where(members, eq(members.userId, userId)));
    return row;
  }

  /** Admins of the organization, locked so two concurrent demotions cannot both pass the last-admin check. */
  async lockAdmins(): Promise<number> {
    const rows = await this.db
      .select({ id: members.id })
      .from(members)
      .where(this.where(members, eq(members.role, 'admin')))
      .for('update');
    return rows.length;
  }

  async setRole(userId: string, role: string): Promise<void> {
    await this.db
      .update(members)
      .set({ role })
      .where(this.where(members, eq(members.userId, userId)));
  }

  async remove(userId: string): Promise<void> {
    await this.db.delete(members).where(this.where(members, eq(members.userId, userId)));
  }

  // The two below act on the person, not on this organization's data: someone removed from an
  // organization is signed out everywhere, and keeps no API key once they belong to none.

  /** Deletes the user's API keys once they belong to no organization and are not a platform admin. */
  async deleteApiKeysIfUnaffiliated(userId: string): Promise<void> {
    const stillMember = this.db.select({ id: members.id }).from(members).where(eq(members.userId, userId));
    const platformAdmin = this.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.role, 'admin')));
    await this.db
      .delete(apiKeys)
      .where(and(eq(apiKeys.referenceId, userId), notExists(stillMember), notExists(platformAdmin)));
  }

  /** Signs the user out everywhere: sessions, and with them bearer tokens, end. Returns their tokens. */
  async revokeSessions(userId: string): Promise<string[]> {
    const rows = await this.db.delete(sessions).where(eq(sessions.userId, userId)).returning({ token: sessions.token });
    return rows.map((row) => row.token);
  }
}
