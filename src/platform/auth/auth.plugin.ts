import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Clock } from '../clock.js';
import type { Database } from '../db/database.js';
import { errorBody } from '../http/errors.js';
import { AUTH_ENDPOINTS, type AuthEndpoint } from './auth-endpoints.js';
import { AUTH_BASE_PATH, type Auth, createAuth, trustedOrigins } from './auth.js';
import { AUDITED_AUTH_ACTIONS, authAudit } from './auth-audit.js';
import { checkCsrf } from './csrf.js';
import { isRefusalLogLine, relay, sessionOf, toFetchRequest } from './relay.js';
import { describeSecretChange, reconcileAuthSecret } from './secret.js';
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
  secret: string;
  now: Clock;
}

/** Better Auth at /api/auth/*, with per-IP and per-account brute-force protection in front. */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthPluginOptions) => {
    const { config, database } = opts;
    const sessions = new SessionStore(app.cache, database.db);
    const memberships = new Memberships(database.db, app.cache);
    const auth = createAuth(
      database.db,
      config,
      opts.secret,
      (level, message) => {
        if (isRefusalLogLine(message)) return;
        app.log[level]({ source: 'better-auth' }, message);
      },
      {
        sessionStorage: sessions.storage,
        sessionsEnded: (tokens) => sessions.forget(tokens),
        userChanged: (userId) => sessions.forgetUser(userId),
        membershipChanged: (userId) => memberships.forget(userId),
        now: opts.now,
      },
    );
    // Before any request: a changed AUTH_SECRET is carried through completely, or not at all.
    const secretChange = await reconcileAuthSecret(database.db, opts.secret, config.AUTH_SECRET_PREVIOUS);
    if (secretChange.changed) {
      await sessions.forgetAll();
      app.log.warn({ source: 'auth' }, describeSecretChange(secretChange));
    }
    const guard = new SignInGuard(database.db, {
      maxFailures: config.SIGNIN_MAX_FAILURES,
      windowSeconds: config.SIGNIN_FAILURE_WINDOW_SECONDS,
      now: opts.now,
    });
    app.decorate('auth', auth);
    app.decorate('sessions', sessions);
    app.decorate('memberships', memberships);
    app.decorate('signInGuard', guard);

    // One CSRF rule for Better Auth's routes and Wardline's own, before anything reads the cookie.
    const authContext = await auth.$context;
    const csrf = {
      trustedOrigins: trustedOrigins(config),
      credentialCookies: [authContext.authCookies.sessionToken.name, authContext.createAuthCookie('two_factor').name],
    };
    app.addHook('onRequest', (request, _reply, done) => {
      if (!request.url.startsWith('/api/auth/') && !request.url.startsWith('/api/v1/')) return done();
      try {
        checkCsrf(request, csrf);
      } catch (error) {
        return done(error as Error);
      }
      done();
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
      async (request) => (await sessionOf(auth, request))?.user.email,
      async (response) => {
        if (response.status !== 400) return false;
        const body = (await response
          .clone()
          .json()
          .catch(() => ({}))) as { code?: unknown };
        return body.code === 'INVALID_PASSWORD';
      },
    );
    const handlerFor = (path: string, endpoint: AuthEndpoint) => {
      if (path === '/sign-in/email') return signIn;
      return endpoint.checksPassword ? passwordRecheck : forward;
    };

    const audit = authAudit(app);
    for (const [path, endpoint] of Object.entries(AUTH_ENDPOINTS)) {
      const audited = path in AUDITED_AUTH_ACTIONS;
      app.route({
        method: endpoint.method,
        url: `${AUTH_BASE_PATH}${path}`,
        // The guarded ones share one counter per client address (the sign-in row of the rate-limit table).
        config: { access: 'better-auth', ...(endpoint.guarded ? { rateLimitOperation: 'sign-in' as const } : {}) },
        ...(audited
          ? {
              preHandler: (request: FastifyRequest) => audit.rememberCaller(request, path),
              // After the answer: a security event is recorded whatever the outcome.
              onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
                app.auditLog.recordLater(audit.events(request, path, reply.statusCode), (error) =>
                  request.log.error({ err: error }, 'audit record failed'),
                );
              },
            }
          : {}),
        handler: handlerFor(path, endpoint),
      });
    }
  },
  { name: 'auth', dependencies: ['http', 'cache', 'rate-limits'] },
);
