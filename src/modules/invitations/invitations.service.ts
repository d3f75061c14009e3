import { randomBytes } from 'node:crypto';
import { hashInvitationToken, INVITATION_TTL_SECONDS } from '../../platform/auth/auth.js';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
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
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly now: Clock,
  ) {}

  /**
   * Invites `email` as `role` into the work's organization, within that unit of work (also used by
   * the organizations module, in the transaction that creates an organization).
   */
  async invite(work: Work, input: { email: string; role: Role }): Promise<CreatedInvitation> {
    const repo = work.repo(InvitationsRepository);
    const inviterId = work.ctx.userId;
    if (!inviterId) throw new Error('an invitation needs a person who invites');
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
    work.audit({ action: 'invitations.create', resourceType: 'invitation', resourceId: row.id });
    return { ...toInvitation(row), token };
  }

  create(ctx: TenantContext, input: CreateInvitation): Promise<CreatedInvitation> {
    return this.uow.write(ctx, (work) => this.invite(work, input));
  }

  listPending(ctx: TenantContext, page: PageQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(InvitationsRepository)
        .listPending(this.now(), page.limit, decodeCursor(page.cursor));
      work.audit({ action: 'invitations.list', resourceType: 'invitation' });
      return toPage(rows, page.limit, (row) => ({ sort: row.createdAt.toISOString(), id: row.id }), toInvitation);
    });
  }

  cancel(ctx: TenantContext, id: string): Promise<Invitation> {
    return this.uow.write(ctx, async (work) => {
      const row = await work.repo(InvitationsRepository).cancel(id);
      if (!row) throw new AppError('NOT_FOUND', 'no pending invitation with that id');
      work.audit({ action: 'invitations.cancel', resourceType: 'invitation', resourceId: id });
      return toInvitation(row);
    });
  }
}
