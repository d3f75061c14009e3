import { createHmac, timingSafeEqual } from 'node:crypto';
import { fromNodeHeaders } from 'better-auth/node';
import { eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { users } from '../auth/auth.schema.js';
import { API_KEY_HEADER } from '../auth/auth.js';
import type { RequestContext } from './context.js';

export interface Principal {
  user: { id: string; email: string; name: string; role: string | null };
  sessionId: string;
  activeOrganizationId: string | null;
  authMethod: RequestContext['authMethod'];
  apiKeyId: string | null;
}

/**
 * The caller behind an API key. Verified by Better Auth (which also records the key's last use) and
 * checked against its owner's ban, then cached (SessionStore.apiKey): a warm key costs no database
 * round trip, and a revoked one stops at once.
 */
function fromApiKey(app: FastifyInstance, key: string): Promise<Principal | null> {
  return app.sessions.apiKey(key, () => verifyApiKey(app, key));
}

async function verifyApiKey(app: FastifyInstance, key: string) {
  const result = await app.auth.api.verifyApiKey({ body: { key } });
  if (!result.valid || !result.key) return null;
  const [user] = await app.database.db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      banned: users.banned,
      banExpires: users.banExpires,
    })
    .from(users)
    .where(eq(users.id, result.key.referenceId));
  if (!user) return null;
  if (user.banned && (!user.banExpires || user.banExpires > new Date())) return null;
  const principal: Principal = {
    user: { id: user.id, email: user.email, name: user.name, role: user.role },
    sessionId: `api-key:${result.key.id}`,
    activeOrganizationId: null,
    authMethod: 'api-key',
    apiKeyId: result.key.id,
  };
  const expiresAt = result.key.expiresAt ? new Date(result.key.expiresAt) : null;
  // An owner whose ban has lapsed (still flagged) is let in but not cached: nothing announces lapses.
  return { principal, userId: user.id, expiresAt: user.banned ? new Date(0) : expiresAt };
}

/**
 * A bearer token is the session's token: Better Auth's bearer plugin accepts it unsigned, signs it
 * into a session cookie and verifies that signature again before the lookup, all in a pipeline of
 * hooks built per call. That costs more than the rest of a request, so the same steps are taken
 * here directly on Better Auth's own session adapter: look the session up (cache, then database),
 * end it if it has expired, and slide its expiry once `updateAge` has passed, as getSession does.
 */
async function fromBearerToken(app: FastifyInstance, token: string): Promise<Principal | null> {
  const { internalAdapter, sessionConfig } = await app.auth.$context;
  const found = await app.sessions.findSession(token, () => internalAdapter.findSession(token));
  if (!found) return null;
  const now = Date.now();
  const expiresAt = found.session.expiresAt.getTime();
  if (expiresAt <= now) {
    await internalAdapter.deleteSession(token);
    return null;
  }
  if (expiresAt - sessionConfig.expiresIn * 1000 + sessionConfig.updateAge * 1000 <= now) {
    await internalAdapter.updateSession(token, {
      expiresAt: new Date(now + sessionConfig.expiresIn * 1000),
      updatedAt: new Date(now),
    });
  }
  return principalOf(found, 'bearer');
}

function principalOf(
  found: { user: { id: string; email: string; name: string; role?: string | null }; session: { id: string } },
  authMethod: Principal['authMethod'],
): Principal {
  return {
    user: { id: found.user.id, email: found.user.email, name: found.user.name, role: found.user.role ?? null },
    sessionId: found.session.id,
    activeOrganizationId: (found.session as { activeOrganizationId?: string | null }).activeOrganizationId ?? null,
    authMethod,
    apiKeyId: null,
  };
}

const BEARER = /^bearer +(\S+)\s*$/i;
/** A signature as Better Auth writes it: HMAC-SHA-256, in base64 with its padding. */
const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;

/**
 * The session token of a signed bearer token (`token.signature`, URL-encoded or not, as sign-in's
 * `set-auth-token` header gives it) whose signature is the token's HMAC under Better Auth's secret,
 * checked as Better Auth's bearer plugin does but synchronously; null when it is not one. A token
 * this does not accept goes to Better Auth, which decides.
 */
function signedSessionToken(value: string, secret: string): string | null {
  let decoded = value;
  if (value.includes('%')) {
    try {
      decoded = decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  const dot = decoded.indexOf('.');
  const [token, signature] = [decoded.slice(0, dot), decoded.slice(dot + 1)];
  if (dot < 1 || !SIGNATURE.test(signature)) return null;
  const expected = createHmac('sha256', secret).update(token).digest();
  return timingSafeEqual(Buffer.from(signature, 'base64'), expected) ? token : null;
}

/** The caller behind an API key, a bearer token or a session cookie, or null when there is none valid. */
export async function authenticate(app: FastifyInstance, request: FastifyRequest): Promise<Principal | null> {
  const key = request.headers[API_KEY_HEADER];
  if (typeof key === 'string' && key !== '') return fromApiKey(app, key);
  // An unsigned bearer token, or a signed one (token.signature) whose signature holds.
  const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) {
    const token = bearer.includes('.') ? signedSessionToken(bearer, (await app.auth.$context).secret) : bearer;
    if (token) return fromBearerToken(app, token);
  }

  const found = await app.auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
  if (!found) return null;
  return principalOf(found, /^bearer /i.test(request.headers.authorization ?? '') ? 'bearer' : 'session');
}
