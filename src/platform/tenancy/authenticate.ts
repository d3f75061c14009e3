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
}

async function fromApiKey(app: FastifyInstance, key: string): Promise<Principal | null> {
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
  return { user, sessionId: `api-key:${result.key.id}`, activeOrganizationId: null, authMethod: 'api-key' };
}

/** The caller behind an API key, a bearer token or a session cookie, or null when there is none valid. */
export async function authenticate(app: FastifyInstance, request: FastifyRequest): Promise<Principal | null> {
  const key = request.headers[API_KEY_HEADER];
  if (typeof key === 'string' && key !== '') return fromApiKey(app, key);

  const found = await app.auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
  if (!found) return null;
  const bearer = request.headers.authorization?.toLowerCase().startsWith('bearer ') ?? false;
  return {
    user: { id: found.user.id, email: found.user.email, name: found.user.name, role: found.user.role ?? null },
    sessionId: found.session.id,
    activeOrganizationId: (found.session as { activeOrganizationId?: string | null }).activeOrganizationId ?? null,
    authMethod: bearer ? 'bearer' : 'session',
  };
}
