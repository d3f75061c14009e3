import type { SessionStore } from '../../platform/auth/session-store.js';
import type { Db } from '../../platform/db/database.js';
import { inTransaction } from '../../platform/db/transaction.js';
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

/** Members of the caller's organization: listing, role changes, removal. */
export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly sessions: Pick<SessionStore, 'forget'>,
    private readonly memberships: Pick<Memberships, 'forget'>,
  ) {}

  async list(ctx: TenantContext, page: PageQuery) {
    const rows = await new UsersRepository(this.db, ctx.organizationId).list(page.limit, decodeCursor(page.cursor));
    return toPage(rows, page.limit, (row) => ({ sort: row.joinedAt.toISOString(), id: row.id }), toMember);
  }

  async changeRole(ctx: TenantContext, userId: string, role: Role): Promise<Member> {
    const member = await inTransaction(this.db, async (tx) => {
      const repo = new UsersRepository(tx, ctx.organizationId);
      const admins = await repo.lockAdmins();
      const member = await repo.find(userId);
      if (!member) throw new AppError('NOT_FOUND', 'user not found');
      if (member.role === 'admin' && role !== 'admin' && admins <= 1) {
        throw new AppError('CONFLICT', 'the last admin of an organization cannot be demoted');
      }
      await repo.setRole(userId, role);
      return toMember({ ...member, role });
    });
    await this.memberships.forget(userId);
    return member;
  }

  /** Removes the membership and revokes the user's sessions (and API keys, if no membership is left), so access ends now. */
  async remove(ctx: TenantContext, userId: string): Promise<void> {
    const tokens = await inTransaction(this.db, async (tx) => {
      const repo = new UsersRepository(tx, ctx.organizationId);
      const admins = await repo.lockAdmins();
      const member = await repo.find(userId);
      if (!member) throw new AppError('NOT_FOUND', 'user not found');
      if (member.role === 'admin' && admins <= 1) {
        throw new AppError('CONFLICT', 'the last admin of an organization cannot be removed');
      }
      await repo.remove(userId);
      await repo.deleteApiKeysIfUnaffiliated(userId);
      return repo.revokeSessions(userId);
    });
    // After the commit, so no request can cache the old state again in between.
    await this.sessions.forget(tokens);
    await this.memberships.forget(userId);
  }
}
