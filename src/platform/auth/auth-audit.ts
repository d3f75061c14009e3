/**
 * Security events of the Better Auth endpoints, on the audit trail: sign-in (success and failure),
 * sign-out, two-factor enable, disable and verification, password change, API key creation and
 * revocation, accepted invitations, and platform admins' acts on accounts. Each event goes to the
 * chain of every organization the account belongs to (so each organization's admins see their
 * staff's), or to the platform chain for an account in none or an email no account has.
 */
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditEvent, AuditOutcome } from '../audit/audit-event.js';
import { requestEvent } from '../kit.plugin.js';
import { users } from './auth.schema.js';
import { authOutcomeOf, sessionOf } from './relay.js';

/** Audited endpoints (paths under /api/auth) and their actions. */
export const AUDITED_AUTH_ACTIONS: Record<string, string> = {
  '/sign-in/email': 'auth.sign-in',
  '/sign-up/email': 'auth.sign-up',
  '/sign-out': 'auth.sign-out',
  '/revoke-sessions': 'auth.sessions-revoke',
  '/revoke-other-sessions': 'auth.sessions-revoke',
  '/change-password': 'auth.password-change',
  '/two-factor/enable': 'auth.two-factor-enable',
  '/two-factor/disable': 'auth.two-factor-disable',
  '/two-factor/verify-totp': 'auth.two-factor-verify',
  '/two-factor/verify-backup-code': 'auth.two-factor-verify',
  '/two-factor/generate-backup-codes': 'auth.backup-codes-generate',
  '/api-key/create': 'auth.api-key-create',
  '/api-key/delete': 'auth.api-key-revoke',
  '/organization/accept-invitation': 'invitations.accept',
  '/organization/reject-invitation': 'invitations.reject',
  '/admin/create-user': 'admin.user-create',
  '/admin/ban-user': 'admin.user-ban',
  '/admin/unban-user': 'admin.user-unban',
  '/admin/set-role': 'admin.platform-role-change',
  '/admin/set-user-password': 'admin.password-set',
  '/admin/revoke-user-sessions': 'admin.sessions-revoke',
};

/** Endpoints where the caller is known only from the answer (they sign someone in). */
const SIGNING_IN = new Set([
  '/sign-in/email',
  '/sign-up/email',
  '/two-factor/verify-totp',
  '/two-factor/verify-backup-code',
]);

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  return status === 403 || status === 429 ? 'denied' : 'failed';
}

function bodyField(request: FastifyRequest, name: string): string | null {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : null;
}

export function authAudit(app: FastifyInstance) {
  async function accountByEmail(email: string | null): Promise<string | null> {
    if (!email) return null;
    const [row] = await app.database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(sql`lower(${users.email})`, email.trim().toLowerCase()));
    return row?.id ?? null;
  }

  return {
    /** Before the call: who is signed in (a sign-out ends that session, so afterwards it is too late). */
    async rememberCaller(request: FastifyRequest, path: string): Promise<void> {
      if (!SIGNING_IN.has(path)) await sessionOf(app.auth, request).catch(() => null);
    },

    async events(request: FastifyRequest, path: string, status: number): Promise<AuditEvent[]> {
      const action = AUDITED_AUTH_ACTIONS[path];
      if (!action) return [];
      const answered = authOutcomeOf(request);
      const session = SIGNING_IN.has(path) ? null : await sessionOf(app.auth, request).catch(() => null);
      const caller = session?.user.id ?? (status < 400 ? (answered?.userId ?? null) : null);
      const admin = path.startsWith('/admin/');
      // The account acted on: the admin's target, the key's owner, or whoever signs in or acts.
      const subject = admin
        ? (bodyField(request, 'userId') ?? answered?.userId ?? null)
        : (caller ?? (path === '/sign-in/email' ? await accountByEmail(bodyField(request, 'email')) : null));
      const keyId = path === '/api-key/create' ? (answered?.keyId ?? null) : bodyField(request, 'keyId');
      const memberships = subject ? await app.memberships.of(subject) : [];
      const base = {
        action,
        outcome: outcomeOf(status),
        actorType: caller ? ('user' as const) : ('anonymous' as const),
        actorId: caller,
        resourceType: keyId ? 'api-key' : 'user',
        resourceId: keyId ?? subject,
      };
      const at = app.now();
      return (memberships.length > 0 ? memberships : [null]).map((membership) =>
        requestEvent(request, at, {
          ...base,
          organizationId: membership?.organizationId ?? null,
          actorRole: membership && !admin && caller === subject ? membership.role : admin ? 'platform-admin' : null,
        }),
      );
    },
  };
}
