import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_KEY_HEADER } from '../auth/auth.js';
import { checkCsrf, type CsrfPolicy } from '../auth/csrf.js';
import { AppError, type ErrorCode } from '../http/errors.js';
import { RecordId } from '../http/ids.js';
import { authenticate } from '../tenancy/authenticate.js';
import type { Membership, TenantContext } from '../tenancy/context.js';
import { ORGANIZATION_HEADER } from '../tenancy/tenancy.plugin.js';

/** The prefix of every API key (auth.ts): an `auth.token` with it is a key, anything else a session token. */
const API_KEY_PREFIX = 'wl_';

/** The headers a handshake authenticates with, as an HTTP request to /api/v1 would carry them. */
export interface Credentials {
  headers: IncomingHttpHeaders;
  /** The organization asked for (`auth.organizationId` or X-Organization-Id), if any. */
  organizationId: string | undefined;
  /** Groups sockets that share a credential, so a periodic recheck checks each credential once. */
  key: string;
}

/** What socket.io knows of a connecting client. */
export interface Handshake {
  headers: IncomingHttpHeaders;
  auth: Record<string, unknown>;
  address: string;
}

/** A refused handshake: socket.io sends `message` and `data` to the client as its `connect_error`. */
export class HandshakeRefused extends Error {
  readonly data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'HandshakeRefused';
    this.data = { code };
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The credential of a handshake: `auth: { token }` (a session token or an API key) when given, else
 * what the HTTP handshake carried (Authorization, X-API-Key, or the session cookie). Only the headers
 * that authenticate and that the CSRF rule reads are kept.
 */
export function credentialsOf(handshake: Handshake): Credentials {
  const { headers, auth } = handshake;
  const pick = (...names: string[]) =>
    Object.fromEntries(names.flatMap((name) => (headers[name] === undefined ? [] : [[name, headers[name]]])));
  const browser = pick('origin', 'referer', 'sec-fetch-site', 'sec-fetch-mode', 'user-agent');
  const token = text(auth.token);
  const organizationId = text(auth.organizationId) ?? text(headers[ORGANIZATION_HEADER]);
  if (token) {
    const credential = token.startsWith(API_KEY_PREFIX)
      ? { [API_KEY_HEADER]: token }
      : { authorization: `Bearer ${token}` };
    return { headers: { ...browser, ...credential }, organizationId, key: `token:${token}:${organizationId ?? ''}` };
  }
  const sent = pick('authorization', API_KEY_HEADER, 'cookie');
  const key = `headers:${String(sent.authorization ?? '')}:${String(sent[API_KEY_HEADER] ?? '')}:${String(sent.cookie ?? '')}`;
  return { headers: { ...browser, ...sent }, organizationId, key: `${key}:${organizationId ?? ''}` };
}

/**
 * The organization a socket acts in, by the rule HTTP requests follow (tenancy.plugin.ts): the one
 * asked for, else the only one, else the session's active organization.
 */
function chooseMembership(memberships: Membership[], asked: string | undefined, active: string | null): Membership {
  if (asked !== undefined) {
    const chosen = RecordId.safeParse(asked).success ? memberships.find((m) => m.organizationId === asked) : undefined;
    if (!chosen) throw new AppError('FORBIDDEN', 'you are not a member of that organization');
    return chosen;
  }
  if (memberships.length === 0) throw new AppError('FORBIDDEN', 'you are not a member of any organization');
  if (memberships.length === 1) return memberships[0]!;
  const found = memberships.find((m) => m.organizationId === active);
  if (found) return found;
  throw new AppError(
    'VALIDATION_FAILED',
    'you belong to several organizations: choose one with auth.organizationId (or the X-Organization-Id header)',
  );
}

/**
 * The caller behind a socket's credentials, in one organization, by the code HTTP requests use: the
 * same session, bearer-token and API-key checks (revocation, expiry, bans) and the same memberships.
 * A cookie needs an origin the CSRF rule trusts; a token or key does not (another site cannot send
 * one). Throws HandshakeRefused with a message for the client, or the error of a failed lookup.
 */
export async function callerOf(
  app: FastifyInstance,
  credentials: Credentials,
  csrf: CsrfPolicy,
  socketId: string,
  address: string,
): Promise<TenantContext> {
  try {
    // A handshake is a GET, but what it opens stays authenticated: it is checked as a write would be.
    checkCsrf({ method: 'POST', headers: credentials.headers } as FastifyRequest, csrf);
    const principal = await authenticate(app, { headers: credentials.headers } as FastifyRequest);
    if (!principal) {
      throw new AppError('UNAUTHENTICATED', 'sign in, or pass a bearer token or API key as auth.token');
    }
    const memberships = await app.memberships.of(principal.user.id);
    const membership = chooseMembership(memberships, credentials.organizationId, principal.activeOrganizationId);
    const userAgent = credentials.headers['user-agent'];
    return {
      requestId: `socket:${socketId}`,
      user: {
        id: principal.user.id,
        email: principal.user.email,
        name: principal.user.name,
        platformAdmin: principal.user.role === 'admin',
      },
      authMethod: principal.authMethod,
      sessionId: principal.sessionId,
      apiKeyId: principal.apiKeyId,
      client: { ip: address || null, userAgent: typeof userAgent === 'string' ? userAgent : null },
      memberships,
      organizationId: membership.organizationId,
      role: membership.role,
    };
  } catch (error) {
    if (error instanceof AppError) throw new HandshakeRefused(error.code, error.message);
    throw error;
  }
}
