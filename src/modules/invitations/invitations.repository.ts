import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { invitations, members, users } from '../../platform/auth/auth.schema.js';
import type { Executor } from '../../platform/db/database.js';
import { afterCursor } from '../../platform/db/keyset.js';
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

/** All SQL on invitations, for one organization. */
export class InvitationsRepository {
  constructor(
    private readonly db: Executor,
    private readonly organizationId: string,
  ) {}

  private scoped(...conditions: (SQL | undefined)[]) {
    return and(eq(invitations.organizationId, this.organizationId), ...conditions);
  }

  listPending(now: Date, limit: number, cursor: Cursor | undefined): Promise<InvitationRow[]> {
    return this.db
      .select(columns)
      .from(invitations)
      .where(
        this.scoped(
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
      .where(and(eq(members.organizationId, this.organizationId), eq(sql`lower(${users.email})`, email)))
      .limit(1);
    return rows.length > 0;
  }

  /** Cancels any pending invitation for the email, so only the newest one can be accepted. */
  async cancelPendingFor(email: string): Promise<void> {
    await this.db
      .update(invitations)
      .set({ status: 'canceled' })
      .where(this.scoped(eq(sql`lower(${invitations.email})`, email), eq(invitations.status, 'pending')));
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
      .values({ ...values, organizationId: this.organizationId, status: 'pending' })
      .returning(columns);
    return row!;
  }

  async cancel(id: string): Promise<InvitationRow | undefined> {
    const [row] = await this.db
      .update(invitations)
      .set({ status: 'canceled' })
      .where(this.scoped(eq(invitations.id, id), eq(invitations.status, 'pending')))
      .returning(columns);
    return row;
  }
}
