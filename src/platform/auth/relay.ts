/**
 * The bridge between Fastify and Better Auth's fetch handler: the request goes in as a fetch
 * Request, the answer comes back in Wardline's envelope, with Better Auth's refusals logged once,
 * with the request id, without the caller's text.
 */
import { fromNodeHeaders } from 'better-auth/node';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  codeToStatus,
  type ErrorDetail,
  errorBody,
  invalidPartMessage,
  statusToCode,
} from '../http/errors.js';
import { type Auth, CLIENT_IP_HEADER } from './auth.js';

type Session = Awaited<ReturnType<Auth['api']['getSession']>>;
const sessions = new WeakMap<FastifyRequest, Promise<Session>>();

/**
 * The session a request to /api/auth carries (cookie or bearer), looked up once per request: the
 * password lockout needs its account and the audit trail its user, before Better Auth answers.
 */
export function sessionOf(auth: Auth, request: FastifyRequest): Promise<Session> {
  let session = sessions.get(request);
  if (!session) {
    session = auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
    sessions.set(request, session);
  }
  return session;
}

export function toFetchRequest(request: FastifyRequest, origin: string): Request {
  const headers = new Headers();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value === undefined || key === CLIENT_IP_HEADER) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(key, item);
  }
  headers.set(CLIENT_IP_HEADER, request.ip);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== undefined;
  if (/%00/i.test(request.url)) throw nulRefused();
  return new Request(new URL(request.url, origin), {
    method: request.method,
    headers,
    body: hasBody ? JSON.stringify(request.body, refuseNul) : undefined,
  });
}

// No credential, id or name contains a NUL; PostgreSQL text cannot hold one.
const nulRefused = () =>
  new AppError('VALIDATION_FAILED', 'the request is not valid', [{ message: 'contains a NUL character' }]);

function refuseNul(key: string, value: unknown): unknown {
  if (key.includes('\0') || (typeof value === 'string' && value.includes('\0'))) throw nulRefused();
  return value;
}

/** How long Better Auth's two-factor lockout lasts (its default, which Wardline does not change). */
export const TWO_FACTOR_LOCKOUT_SECONDS = 900;

const TWO_FACTOR_STEPS = new Set(['/api/auth/two-factor/verify-totp', '/api/auth/two-factor/verify-backup-code']);

/** The session token inside a signed session cookie value (`token.signature`, URL-encoded). */
function unsignedToken(cookieValue: string): string {
  return decodeURIComponent(cookieValue).split('.')[0]!;
}

/**
 * A successful two-factor step ends the session it was made with and starts a new one (enabling
 * two-factor rotates the session; a sign-in completes one), and Better Auth's body still describes
 * the old one: its token, already revoked, and `twoFactorEnabled: false`. The body is made to hold
 * what works: the new session's token and the account as it is now.
 */
function twoFactorBody(text: string, newSessionCookie: string | null): string {
  if (!newSessionCookie) return text;
  try {
    const body = JSON.parse(text) as { token?: unknown; user?: Record<string, unknown> };
    body.token = unsignedToken(newSessionCookie);
    if (body.user) body.user.twoFactorEnabled = true;
    return JSON.stringify(body);
  } catch {
    return text;
  }
}

/** What a successful Better Auth answer was about, for the audit trail: the account, and the API key. */
export interface AuthOutcome {
  userId: string | null;
  keyId: string | null;
}

const outcomes = new WeakMap<FastifyRequest, AuthOutcome>();

export function authOutcomeOf(request: FastifyRequest): AuthOutcome | undefined {
  return outcomes.get(request);
}

function rememberOutcome(request: FastifyRequest, text: string): void {
  try {
    const body = JSON.parse(text) as { user?: { id?: unknown }; id?: unknown; userId?: unknown; referenceId?: unknown };
    const userId = body.user?.id ?? body.userId ?? body.referenceId;
    outcomes.set(request, {
      userId: typeof userId === 'string' ? userId : null,
      keyId: typeof body.id === 'string' && typeof body.referenceId === 'string' ? body.id : null,
    });
  } catch {
    // not JSON: nothing to remember
  }
}

/** Sends Better Auth's response, with its errors rewritten into Wardline's envelope. */
export async function relay(response: Response, request: FastifyRequest, reply: FastifyReply) {
  reply.code(response.status);
  response.headers.forEach((value, key) => {
    // CORS headers are the CORS plugin's; length and encoding are recomputed by Fastify.
    if (key === 'set-cookie' || key === 'content-length' || key === 'content-encoding') return;
    if (key.startsWith('access-control-')) return;
    void reply.header(key, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) void reply.header('set-cookie', cookies);
  const text = await response.text();
  if (response.status < 400) {
    rememberOutcome(request, text);
    const path = request.url.split('?')[0]!;
    if (TWO_FACTOR_STEPS.has(path)) return reply.send(twoFactorBody(text, response.headers.get('set-auth-token')));
    return reply.send(text || null);
  }

  let message = 'request failed';
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(text) as { message?: unknown; code?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
    if (typeof parsed.code === 'string') reason = parsed.code;
  } catch {
    // not JSON: keep the generic message
  }
  const code = statusToCode(response.status);
  reply.code(codeToStatus(code));
  void reply.header('content-type', 'application/json; charset=utf-8');
  if (response.status >= 500) {
    request.log.error({ status: response.status, reason }, 'auth request failed');
    return reply.send(errorBody(code, 'internal error', request.id));
  }
  // A refusal is the caller's doing: logged once, here, with its reason code and never the caller's text.
  request.log.info({ code, reason }, 'request rejected');
  if (reason === 'ACCOUNT_TEMPORARILY_LOCKED' && !response.headers.has('retry-after')) {
    // Better Auth says when the lock lifts only in its database; its length is the longest wait.
    void reply.header('retry-after', String(TWO_FACTOR_LOCKOUT_SECONDS));
  }
  if (reason === 'VALIDATION_ERROR') {
    // The same details as a failed validation on /api/v1, one per field.
    const details = validationDetails(message);
    const part = details[0]?.path?.split('.')[0];
    return reply.send(errorBody('VALIDATION_FAILED', invalidPartMessage(part), request.id, details));
  }
  return reply.send(errorBody(code, message, request.id, reason ? [{ path: 'auth', message: reason }] : undefined));
}

/** Better Auth's validation message, "[body.email] Invalid email; [query.id] ...", as one detail per field. */
function validationDetails(message: string): ErrorDetail[] {
  return [...message.matchAll(/\[([^\]]*)\] (.*?)(?=; \[|$)/gs)].map(([, path = '', text = '']) => ({
    path: path.replace(/^query\b/, 'querystring'),
    message: text,
  }));
}

/**
 * Better Auth's log lines that only say a caller sent something wrong (an unknown API key, an
 * untrusted callback URL), and would otherwise fill the error log with the caller's text and no
 * request id. The refusal itself is logged by `relay` or the error handler, with the request id.
 */
const REFUSAL_LINES = [
  /^Failed to validate API key/,
  /^Invalid (origin|callbackURL|redirectURL|errorCallbackURL|newUserCallbackURL)\b/,
  /^If it's a valid URL/,
  /^Blocked cross-site navigation/,
];

export function isRefusalLogLine(message: string): boolean {
  return REFUSAL_LINES.some((line) => line.test(message));
}
