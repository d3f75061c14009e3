import { randomBytes } from 'node:crypto';
import { hashInvitationToken, INVITATION_TTL_SECONDS } from '../../platform/auth/auth.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, Executor } from '../../platform/db/database.js';
import { inTransaction } from '../../platform/db/transaction.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import { isRole, type Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { InvitationsRepository, type InvitationRow } from './invitations.repository.js';
import type { CreatedInvitation, CreateInvitation, Invitation } from './invitations.schema.js';

function toInvitation(row: InvitationRow): Invitation {
  // Invitations are only written through this module, with a role from ROLES.
  if (!row.role || !isRole(row.role)) throw new Error(`invitation ${row.id} has an unknown role`);
  return { ...row, role: row.role, status: row.status as Invitation['status'] };
}

/** Invitations into an organization. Acceptance is Better Auth's flow (/api/auth/organization/accept-invitation). */
export class InvitationsService {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  /** Invites `email` to `organizationId` as `role`; the caller has already been authorized. */
  async invite(
    tx: Executor,
    organizationId: string,
    inviterId: string,
    input: { email: string; role: Role },
  ): Promise<CreatedInvitation> {
    const repo = new InvitationsRepository(tx, organizationId);
    const email = input.email.toLowerCase();
    if (await repo.isMember(email)) throw new AppError('CONFLICT', 'that person is already a member');
    await repo.cancelPendingFor(email);
    const expiresAt = new Date(this.now().getTime() + INVITATION_TTL_SECONDS * 1000);
    const token = randomBytes(32).toString('base64url');
    const row = await repo.create({
      email,
      role: input.role,
      inviterId,
      expiresAt,
      tokenHash: hashInvitationToken(token),
    });
    return { ...toInvitation(row), token };
  }

  create(ctx: TenantContext, input: CreateInvitation): Promise<CreatedInvitation> {
    return inTransaction(this.db, (tx) => this.invite(tx, ctx.organizationId, ctx.user.id, input));
  }

  async listPending(ctx: TenantContext, page: PageQuery) {
    const rows = await new InvitationsRepository(this.db, ctx.organizationId).listPending(
      this.now(),
      page.limit,
      decodeCursor(page.cursor),
    );
    return toPage(rows, page.limit, (row) => ({ sort: row.createdAt.toISOString(), id: row.id }), toInvitation);
  }

  async cancel(ctx: TenantContext, id: string): Promise<Invitation> {
    const row = await new InvitationsRepository(this.db, ctx.organizationId).cancel(id);
    if (!row) throw new AppError('NOT_FOUND', 'no pending invitation with that id');
    return toInvitation(row);
  }
}
