import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError, createAuthMiddleware } from 'better-auth/api';
import { admin, bearer, jwt, openAPI, organization, twoFactor } from 'better-auth/plugins';
import { createHash } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Db } from '../db/database.js';
import { accessControl, organizationPluginRoles } from '../permissions.js';
import { authSchema, invitations } from './auth.schema.js';

export const AUTH_BASE_PATH = '/api/auth';
export const API_KEY_HEADER = 'x-api-key';
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;
/** Carries the client address, as Fastify resolved it (see TRUST_PROXY), to Better Auth; never taken from the client. */
export const CLIENT_IP_HEADER = 'x-wardline-client-ip';

/** SHA-256 of an invitation token, as stored. */
export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Is there a pending, unexpired invitation with this token for this email? */
async function hasOpenInvitation(db: Db, token: string, email: string): Promise<boolean> {
  const rows = await db
    .select({ id: invitations.id })
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, hashInvitationToken(token)),
        eq(sql`lower(${invitations.email})`, email.toLowerCase()),
        eq(invitations.status, 'pending'),
        gt(invitations.expiresAt, new Date()),
      ),
    )
    .limit(1);
  return rows.length > 0;
}

// Public self sign-up is off: an account can be created only with the secret token of an open
// invitation for that email, which only the inviting admin was shown. Platform admins create other
// accounts through the admin plugin.
function invitationOnlySignUp(db: Db) {
  return createAuthMiddleware(async (ctx) => {
    if (ctx.path !== '/sign-up/email') return;
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const { invitationToken, ...rest } = body;
    if (
      typeof invitationToken !== 'string' ||
      typeof body.email !== 'string' ||
      !(await hasOpenInvitation(db, invitationToken, body.email))
    ) {
      throw new APIError('FORBIDDEN', {
        message: 'sign-up needs an open invitation: pass the invitationToken you were given',
        code: 'INVITATION_REQUIRED',
      });
    }
    return { context: { body: rest } };
  });
}

/** Origins allowed to send cookie-authenticated writes: the API's own (both loopback spellings) and CORS_ORIGINS. */
function trustedOrigins(config: Config): string[] {
  const own = new URL(config.publicUrl);
  const origins = [own.origin, ...config.CORS_ORIGINS];
  if (own.hostname === '127.0.0.1' || own.hostname === 'localhost') {
    for (const host of ['127.0.0.1', 'localhost'])
      origins.push(`${own.protocol}//${host}${own.port ? `:${own.port}` : ''}`);
  }
  return [...new Set(origins)];
}

export type AuthLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export function createAuth(db: Db, config: Config, secret: string, log: AuthLog) {
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
    // Fastify's @fastify/rate-limit and the sign-in guard (Redis-backed when configured) own rate limiting.
    rateLimit: { enabled: false },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: 12,
      maxPasswordLength: 128,
      revokeSessionsOnPasswordReset: true,
    },
    session: {
      expiresIn: config.SESSION_TTL_SECONDS,
      updateAge: config.SESSION_REFRESH_SECONDS,
    },
    advanced: {
      database: { generateId: 'uuid' },
      useSecureCookies: config.publicUrl.startsWith('https://'),
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    hooks: { before: invitationOnlySignUp(db) },
    plugins: [
      organization({
        ac: accessControl,
        roles: organizationPluginRoles(),
        creatorRole: 'admin',
        allowUserToCreateOrganization: false,
        disableOrganizationDeletion: true,
        invitationExpiresIn: INVITATION_TTL_SECONDS,
        cancelPendingInvitationsOnReInvite: true,
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
