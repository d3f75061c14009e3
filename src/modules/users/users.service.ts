import type { SessionStore } from '../../platform/auth/session-store.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import { isRole, type Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import type { Memberships } from '../../platform/tenancy/memberships.js';
import { type MemberRow, UsersRepository } from './users.repository.js';
import type { Member } from './users.schema.js';

function toMember(row: MemberRow): Member {
  // Roles are only written through Wardline's routes, from ROLES; anything else is corruption.
  if (!isRole(row.role)) throw new Error(`member ${row.id} has an unknown role`);
  return { ...row, role: row.role, twoFactorEnabled: row.twoFactorEnabled ?? false };
}

/** What removing a member asks of the staff module: the on-duty rosters it caches. */
export interface Rosters {
  /** Inside the removal's write: the roster the member's open shift puts them on is dropped once it commits. */
  leave(ctx: TenantContext, userId: string): Promise<void>;
}

/** Members of the caller's organization: listing, role changes, removal. */
export class UsersService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly sessions: Pick<SessionStore, 'forget'>,
    private readonly memberships: Pick<Memberships, 'forget'>,
    private readonly rosters: Rosters,
  ) {}

  list(ctx: TenantContext, page: PageQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(UsersRepository).list(page.limit, decodeCursor(page.cursor));
      // Staff names and emails are personal data: reading them is on the trail too.
      work.audit({ action: 'users.list', resourceType: 'user' });
      return toPage(rows, page.limit, (row) => ({ sort: row.joinedAt.toISOString(), id: row.id }), toMember);
    });
  }

  /**
   * A member of the caller's organization, or undefined: for other modules that refer to staff
   * (a practitioner, whoever is on a shift). Not audited by itself; the caller's own operation is.
   */
  async member(ctx: TenantContext, userId: string): Promise<Member | undefined> {
    const row = await this.uow.read(ctx, (work) => work.repo(UsersRepository).find(userId));
    return row ? toMember(row) : undefined;
  }

  changeRole(ctx: TenantContext, userId: string, role: Role): Promise<Member> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(UsersRepository);
      const admins = await repo.lockAdmins();
      const member = await repo.find(userId);
      if (!member) throw new AppError('NOT_FOUND', 'user not found');
      if (member.role === 'admin' && role !== 'admin' && admins <= 1) {
        throw new AppError('CONFLICT', 'the last admin of an organization cannot be demoted');
      }
      await repo.setRole(userId, role);
      work.audit({ action: 'users.role-change', resourceType: 'user', resourceId: userId });
      // After the commit, so no request can cache the old role again in between.
      work.afterCommit(() => this.memberships.forget(userId));
      return toMember({ ...member, role });
    });
  }

  /** Removes the membership and revokes the user's sessions (and API keys, if no membership is left), so access ends now. */
  remove(ctx: TenantContext, userId: string): Promise<void> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(UsersRepository);
      const admins = await repo.lockAdmins();
      const member = await repo.find(userId);
      if (!member) throw new AppError('NOT_FOUND', 'user not found');
      if (member.role === 'admin' && admins <= 1) {
        throw new AppError('CONFLICT', 'the last admin of an organization cannot be removed');
      }
      await repo.remove(userId);
      await repo.deleteApiKeysIfUnaffiliated(userId);
      const tokens = await repo.revokeSessions(userId);
      work.audit({ action: 'users.remove', resourceType: 'user', resourceId: userId });
      // A shift they left open no longer puts them on duty (the roster query joins the membership).
      await this.rosters.leave(ctx, userId);
      work.afterCommit(async () => {
        await this.sessions.forget(tokens);
        await this.memberships.forget(userId);
      });
    });
  }
}
