import type { AuditLog } from '../../platform/audit/audit-log.js';
import { callerSecurityEvents } from '../../platform/audit/security-events.js';
import type { SessionStore } from '../../platform/auth/session-store.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import type { RequestContext } from '../../platform/tenancy/context.js';
import { ProfileRepository, type SessionRow } from './profile.repository.js';

export interface SessionInfo extends SessionRow {
  /** The session this request was made with. */
  current: boolean;
}

/**
 * The caller's own sign-ins. Better Auth's list-sessions is not exposed: it returns every session's
 * token, so one leaked token would hand over all the others.
 */
export class ProfileService {
  constructor(
    private readonly db: Db,
    private readonly sessions: Pick<SessionStore, 'forget'>,
    private readonly now: Clock,
    private readonly auditLog: Pick<AuditLog, 'record'>,
  ) {}

  async listSessions(ctx: RequestContext, page: PageQuery) {
    const rows = await new ProfileRepository(this.db, ctx.user.id).listSessions(
      this.now(),
      page.limit,
      decodeCursor(page.cursor),
    );
    return toPage(
      rows,
      page.limit,
      (row) => ({ sort: row.createdAt.toISOString(), id: row.id }),
      (row): SessionInfo => ({ ...row, current: row.id === ctx.sessionId }),
    );
  }

  /**
   * Ends one of the caller's sessions. The cached copy goes first: if that fails, nothing has
   * changed and the call can be retried, instead of a deleted row whose token still works. It goes
   * again once the row is deleted: a request that read the row in between may have put it back.
   */
  async revokeSession(ctx: RequestContext, id: string): Promise<void> {
    const repo = new ProfileRepository(this.db, ctx.user.id);
    const token = await repo.sessionToken(id);
    if (token === undefined) throw new AppError('NOT_FOUND', 'session not found');
    await this.sessions.forget([token]);
    await repo.deleteSession(id);
    await this.sessions.forget([token]);
    await this.auditLog.record(
      callerSecurityEvents(ctx, this.now(), { action: 'auth.session-revoke', resourceType: 'session', resourceId: id }),
    );
  }
}
