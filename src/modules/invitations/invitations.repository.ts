import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { invitations, members, users } from '../../platform/auth/auth.schema.js';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';

const columns = {
  id: invitations.id,
  organizationId: invitations.organizationId,
  email: invitations.email,
  role: invitations.role,
  status: invitations.status,
  expiresAt: invitations.expiresAt,
  createdAt: invitations.createdAt,
};

export type InvitationRow = {
  id: string;
  organizationId: string;
  email: string;
  role: string | null;
  status: string;
  expiresAt: Date;
  createdAt: Date;
};

/** All SQL on an organization's invitations (Better Auth's `invitations` table). */
export class InvitationsRepository extends TenantRepository {
  listPending(now: Date, limit: number, cursor: Cursor | undefined): Promise<InvitationRow[]> {
    return this.db
      .select(columns)
      .from(invitations)
      .where(
        this.where(
          invitations,
          eq(invitations.status, 'pending'),
          gt(invitations.expiresAt, now),
          afterCursor(invitations.createdAt, invitations.id, cursor),
        ),
      )
      .orderBy(asc(invitations.createdAt), asc(invitations.id))
      .limit(limit + 1);
  }

  async isMember(email: string): Promise<boolean> {
    const rows = await this.db
      .select({ id: members.id })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.where(members, eq(sql`lower(${users.email})`, email)))
      .limit(1);
    return rows.length > 0;
  }

  /** Cancels any pending invitation for the email, so only the newest one can be accepted. */
  async cancelPendingFor(email: string): Promise<void> {
    await this.db
      .update(invitations)
      .set({ status: 'canceled' })
      .where(this.where(invitations, eq(sql`lower(${invitations.email})`, email), eq(invitations.status, 'pending')));
  }

  async create(values: {
    email: string;
    role: string;
    inviterId: string;
    expiresAt: Date;
    tokenHash: string;
  }): Promise<InvitationRow> {
    const [row] = await this.db
      .insert(invitations)
      .values(this.owned({ ...values, status: 'pending' }))
      .returning(columns);
    return row!;
  }

  async cancel(id: string): Promise<InvitationRow | undefined> {
    const [row] = await this.db
      .update(invitations)
      .set({ status: 'canceled' })
      .where(this.where(invitations, and(eq(invitations.id, id), eq(invitations.status, 'pending'))))
      .returning(columns);
    return row;
  }
}
