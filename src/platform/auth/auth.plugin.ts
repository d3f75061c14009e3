import rateLimit from '@fastify/rate-limit';
import { fromNodeHeaders } from 'better-auth/node';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import {
  AppError,
  codeToStatus,
  type ErrorDetail,
  errorBody,
  invalidPartMessage,
  statusToCode,
} from '../http/errors.js';
import type { Redis } from '../redis.js';
import { AUTH_ENDPOINTS, type AuthEndpoint } from './auth-endpoints.js';
import { AUTH_BASE_PATH, type Auth, CLIENT_IP_HEADER, createAuth } from './auth.js';
import { Memberships } from '../tenancy/memberships.js';
import { SessionStore } from './session-store.js';
import { SignInGuard } from './sign-in-guard.js';

declare module 'fastify' {
  interface FastifyInstance {
    auth: Auth;
    /** Cached sessions; code that deletes session rows itself tells it which tokens to drop. */
    sessions: SessionStore;
    /** Who belongs to which organization, cached; code that changes memberships tells it. */
    memberships: Memberships;
    signInGuard: SignInGuard;
  }
}

export interface AuthPluginOptions {
  config: Config;
  database: Database;
  redis: Redis | null;
  secret: string;
  now: Clock;
}

function toFetchRequest(request: FastifyRequest, origin: string): Request {
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

/** Sends Better Auth's response, with its errors rewritten into Wardline's envelope. */
async function relay(response: Response, request: FastifyRequest, reply: FastifyReply) {
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
  if (response.status < 400) return reply.send(text || null);

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

/** Better Auth at /api/auth/*, with per-IP and per-account brute-force protection in front. */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthPluginOptions) => {
    const { config, database, redis } = opts;
    const sessions = new SessionStore(app.cache, database.db);
    const memberships = new Memberships(database.db, app.cache);
    const auth = createAuth(
      database.db,
      config,
      opts.secret,
      (level, message) => app.log[level]({ source: 'better-auth' }, message),
      {
        sessionStorage: sessions.storage,
        sessionsEnded: (tokens) => sessions.forget(tokens),
        userChanged: (userId) => sessions.forgetUser(userId),
        membershipChanged: (userId) => memberships.forget(userId),
        now: opts.now,
      },
    );
    const guard = new SignInGuard(database.db, {
      maxFailures: config.SIGNIN_MAX_FAILURES,
      windowSeconds: config.SIGNIN_FAILURE_WINDOW_SECONDS,
      now: opts.now,
    });
    app.decorate('auth', auth);
    app.decorate('sessions', sessions);
    app.decorate('memberships', memberships);
    app.decorate('signInGuard', guard);

    await app.register(rateLimit, {
      global: false,
      ...(redis ? { redis, nameSpace: `${config.REDIS_KEY_PREFIX}rate-limit:` } : {}),
      // With Redis unreachable the per-IP counter is skipped rather than locking everyone out; the
      // per-account lockout, kept in the database, still stands.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new AppError('RATE_LIMITED', `too many attempts from this address; retry in ${context.after}`),
    });

    const forward = async (request: FastifyRequest, reply: FastifyReply) =>
      relay(await auth.handler(toFetchRequest(request, config.publicUrl)), request, reply);

    // Every endpoint that checks the account's password sits behind one per-account lockout: the
    // attempt is counted before the password is checked, so parallel guesses cannot all slip in under
    // the limit, and a stolen session cannot be used to guess the password through change-password.
    const passwordChecked =
      (
        accountOf: (request: FastifyRequest) => Promise<string | undefined>,
        wrongPassword: (r: Response) => Promise<boolean>,
      ) =>
      async (request: FastifyRequest, reply: FastifyReply) => {
        const fetchRequest = toFetchRequest(request, config.publicUrl);
        const email = await accountOf(request);
        if (email === undefined) return relay(await auth.handler(fetchRequest), request, reply);
        const attempt = await guard.begin(email, request.ip);
        if (attempt.id === null) {
          void reply.header('retry-after', String(attempt.retryAfter));
          return reply
            .code(429)
            .send(errorBody('RATE_LIMITED', 'too many wrong passwords for this account; try again later', request.id));
        }
        const response = await auth.handler(fetchRequest);
        if (response.ok) await guard.succeeded(email);
        else if (!(await wrongPassword(response))) await guard.discard(attempt.id);
        return relay(response, request, reply);
      };

    const signIn = passwordChecked(
      async (request) => {
        const email = (request.body as { email?: unknown } | undefined)?.email;
        return typeof email === 'string' ? email : undefined;
      },
      async (response) => response.status === 401,
    );
    const passwordRecheck = passwordChecked(
      async (request) => (await auth.api.getSession({ headers: fromNodeHeaders(request.headers) }))?.user.email,
      async (response) => {
        if (response.status !== 400) return false;
        const body = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { code?: unknown };
        return body.code === 'INVALID_PASSWORD';
      },
    );
    const secretGuessLimit = app.rateLimit({ max: config.SIGNIN_IP_LIMIT_PER_MINUTE, timeWindow: 60_000 });
    const handlerFor = (path: string, endpoint: AuthEndpoint) => {
      if (path === '/sign-in/email') return signIn;
      return endpoint.checksPassword ? passwordRecheck : forward;
    };

    for (const [path, endpoint] of Object.entries(AUTH_ENDPOINTS)) {
      app.route({
        method: endpoint.method,
        url: `${AUTH_BASE_PATH}${path}`,
        // One counter per client address across all of these routes, not one per route.
        ...(endpoint.guarded ? { onRequest: secretGuessLimit } : {}),
        handler: handlerFor(path, endpoint),
      });
    }
  },
  { name: 'auth', dependencies: ['http', 'cache'] },
);
