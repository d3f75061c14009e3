import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import type { SecondaryStorage } from '@better-auth/core/db';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { admin, bearer, jwt, openAPI, organization, twoFactor } from 'better-auth/plugins';
import { createHash } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import { type Config, PASSWORD_LENGTH } from '../../config.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { accessControl, organizationPluginRoles } from '../permissions.js';
import { apiKeys, authSchema, invitations } from './auth.schema.js';

export const AUTH_BASE_PATH = '/api/auth';
export const API_KEY_HEADER = 'x-api-key';
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;
/** Carries the client address, as Fastify resolved it (see TRUST_PROXY), to Better Auth; never taken from the client. */
export const CLIENT_IP_HEADER = 'x-wardline-client-ip';

/** SHA-256 of an invitation token, as stored. */
export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Is there a pending, unexpired invitation with this token (and, when given, this id or email)? */
async function hasOpenInvitation(
  db: Db,
  now: Clock,
  token: string,
  match: { email?: string; id?: string },
): Promise<boolean> {
  const rows = await db
    .select({ id: invitations.id })
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, hashInvitationToken(token)),
        match.email === undefined ? undefined : eq(sql`lower(${invitations.email})`, match.email.toLowerCase()),
        match.id === undefined ? undefined : eq(invitations.id, match.id),
        eq(invitations.status, 'pending'),
        gt(invitations.expiresAt, now()),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

const INVITATION_PATHS = new Set([
  '/sign-up/email',
  '/organization/accept-invitation',
  '/organization/reject-invitation',
]);

// Every step of an invitation needs its secret token, which only the inviting admin was shown:
// - Public self sign-up is off: an account can be created only with the token of an open invitation
//   for that email. Platform admins create other accounts through the admin plugin.
// - Accepting or rejecting needs the token too, not just the invitation id (which the organization's
//   managers can list) and a session with the invited email: otherwise whoever holds an account with
//   that address, made through an invitation of their own, could take up another tenant's invitation.
async function requireInvitationToken(db: Db, now: Clock, path: string, body: Record<string, unknown>) {
  const { invitationToken, ...rest } = body;
  const signUp = path === '/sign-up/email';
  const key = signUp ? body.email : body.invitationId;
  const open =
    typeof invitationToken === 'string' &&
    typeof key === 'string' &&
    (await hasOpenInvitation(db, now, invitationToken, signUp ? { email: key } : { id: key }));
  if (!open) {
    throw new APIError('FORBIDDEN', {
      message: signUp
        ? 'sign-up needs an open invitation: pass the invitationToken you were given'
        : 'pass the invitationId and invitationToken of an open invitation',
      code: 'INVITATION_REQUIRED',
    });
  }
  return { context: { body: rest } };
}

/** Platform roles; organization roles live on memberships and change through /api/v1. */
const PLATFORM_ROLES = new Set(['user', 'admin']);

/**
 * One platform role, as a plain string. Better Auth also takes a list (stored comma-joined and read
 * as "any of"), which would make an admin whom Wardline's own checks do not see as one.
 */
function requirePlatformRole(role: unknown) {
  if (typeof role !== 'string' || !PLATFORM_ROLES.has(role)) {
    throw new APIError('BAD_REQUEST', { message: 'role must be "user" or "admin"', code: 'INVALID_ROLE' });
  }
}

/** Wardline's rules on top of the Better Auth endpoints it exposes. */
function requestRules(db: Db, now: Clock) {
  return createAuthMiddleware(async (ctx) => {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    if (INVITATION_PATHS.has(ctx.path)) return requireInvitationToken(db, now, ctx.path, body);
    if (ctx.path === '/admin/set-role') requirePlatformRole(body.role);
    if (ctx.path === '/admin/create-user') {
      const data = (body.data ?? {}) as Record<string, unknown>;
      if (body.role !== undefined) requirePlatformRole(body.role);
      if (data.role !== undefined) requirePlatformRole(data.role);
    }
    // Every key starts with the platform's prefix, so secret scanners and log filters can spot one.
    if (ctx.path === '/api-key/create' && body.prefix !== undefined) {
      throw new APIError('BAD_REQUEST', {
        message: 'the key prefix is fixed by the server',
        code: 'PREFIX_NOT_ALLOWED',
      });
    }
    return undefined;
  });
}

/** What Wardline does after a Better Auth endpoint succeeded. */
function afterRules(db: Db, keysChanged: (userId: string) => Promise<void>) {
  return createAuthMiddleware(async (ctx) => {
    // Verified API keys are cached: a deleted one must stop working on the next request.
    if (ctx.path === '/api-key/delete' && !(ctx.context.returned instanceof Error)) {
      const owner = ctx.context.session?.user.id;
      if (owner) await keysChanged(owner);
    }
    // A password set by an admin (after a suspected compromise, a forgotten password) ends every
    // session of that account and deletes its API keys, which whoever held the old password may have
    // made: every credential has to be issued again.
    if (ctx.path === '/admin/set-user-password' && !(ctx.context.returned instanceof Error)) {
      const { userId } = (ctx.body ?? {}) as { userId?: unknown };
      if (typeof userId !== 'string') return;
      await ctx.context.internalAdapter.deleteUserSessions(userId);
      await db.delete(apiKeys).where(eq(apiKeys.referenceId, userId));
      await keysChanged(userId);
    }
  });
}

/** Origins allowed to send cookie-authenticated writes: the API's own (both loopback spellings) and CORS_ORIGINS. */
export function trustedOrigins(config: Config): string[] {
  const own = new URL(config.publicUrl);
  const origins = [own.origin, ...config.CORS_ORIGINS];
  if (own.hostname === '127.0.0.1' || own.hostname === 'localhost') {
    for (const host of ['127.0.0.1', 'localhost'])
      origins.push(`${own.protocol}//${host}${own.port ? `:${own.port}` : ''}`);
  }
  return [...new Set(origins)];
}

export type AuthLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface AuthDependencies {
  /** Where session lookups are cached (see SessionStore). */
  sessionStorage: SecondaryStorage;
  /** Told after session rows were deleted, and after a user record changed, to drop cached copies. */
  sessionsEnded: (tokens: string[]) => Promise<void>;
  userChanged: (userId: string) => Promise<void>;
  /** Told after a membership changed through Better Auth (an accepted invitation), to drop cached copies. */
  membershipChanged: (userId: string) => Promise<void>;
  /** The app's clock, for invitation expiry (which the invitations service sets by it). */
  now: Clock;
}

export function createAuth(db: Db, config: Config, secret: string, log: AuthLog, deps: AuthDependencies) {
  const membershipChanged = async ({ member }: { member: { userId: string } }) => deps.membershipChanged(member.userId);
  return betterAuth({
    appName: 'Wardline',
    baseURL: config.publicUrl,
    basePath: AUTH_BASE_PATH,
    secret,
    database: drizzleAdapter(db, { provider: 'pg', schema: authSchema }),
    trustedOrigins: trustedOrigins(config),
    telemetry: { enabled: false },
    // Into our structured log; Better Auth's extra arguments are dropped, as they may name the account.
    logger: { level: 'warn', log: (level, message) => log(level, message) },
    // Errors come back to Fastify instead of being printed: Better Auth's own reporting writes the
    // failed SQL and its parameters (account data) to the console. Refusals still become responses.
    onAPIError: { throw: true },
    // Fastify's @fastify/rate-limit and the sign-in guard (Redis-backed when configured) own rate limiting.
    rateLimit: { enabled: false },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: PASSWORD_LENGTH.min,
      maxPasswordLength: PASSWORD_LENGTH.max,
      revokeSessionsOnPasswordReset: true,
    },
    secondaryStorage: deps.sessionStorage,
    session: {
      expiresIn: config.SESSION_TTL_SECONDS,
      updateAge: config.SESSION_REFRESH_SECONDS,
      // The database stays the record of sessions: the cache in front of it may be lost at any time.
      storeSessionInDatabase: true,
    },
    // Two-factor challenges are consumed atomically in the database, wherever the request lands.
    verification: { storeInDatabase: true },
    advanced: {
      // Wardline checks CSRF itself, for /api/auth and /api/v1 alike (csrf.ts): Better Auth's check
      // refuses every cookie-carrying request without an Origin, which is every non-browser client.
      // Its validation of callback URLs against trustedOrigins stays on, in tests too (Better Auth
      // would otherwise skip it whenever it sees a test runner).
      disableCSRFCheck: true,
      disableOriginCheck: false,
      database: { generateId: 'uuid' },
      useSecureCookies: config.publicUrl.startsWith('https://'),
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    hooks: { before: requestRules(db, deps.now), after: afterRules(db, deps.userChanged) },
    // Whatever path Better Auth takes to end sessions or change a user, the cached copies go with it.
    databaseHooks: {
      session: { delete: { after: (session) => deps.sessionsEnded([session.token]) } },
      user: { update: { after: (user) => deps.userChanged(user.id) } },
    },
    plugins: [
      organization({
        ac: accessControl,
        roles: organizationPluginRoles(),
        creatorRole: 'admin',
        allowUserToCreateOrganization: false,
        disableOrganizationDeletion: true,
        invitationExpiresIn: INVITATION_TTL_SECONDS,
        cancelPendingInvitationsOnReInvite: true,
        organizationHooks: {
          afterAcceptInvitation: membershipChanged,
          afterAddMember: membershipChanged,
          afterRemoveMember: membershipChanged,
          afterUpdateMemberRole: membershipChanged,
        },
      }),
      admin({ defaultRole: 'user', adminRoles: ['admin'] }),
      bearer(),
      // A JWT is minted on request (GET /api/auth/token), not signed into every session lookup.
      jwt({ disableSettingJwtHeader: true }),
      twoFactor({ issuer: 'Wardline' }),
      // Keys authenticate /api/v1 calls only (verified in the tenancy plugin); they never stand in for a
      // session on Better Auth's own endpoints. Request limits belong to the platform's rate limiter,
      // not to the plugin's default of 10 requests a day per key.
      apiKey({ apiKeyHeaders: [API_KEY_HEADER], defaultPrefix: 'wl_', rateLimit: { enabled: false } }),
      openAPI({ disableDefaultReference: true }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
