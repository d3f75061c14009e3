import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { trustedOrigins } from '../auth/auth.js';
import type { CsrfPolicy } from '../auth/csrf.js';
import type { Redis } from '../redis.js';
import { type HospitalLister, HospitalDirectory } from './hospital-directory.js';
import { Realtime } from './realtime.js';
import { redisStreamsAdapter } from './redis-adapter.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Real-time broadcasts to sockets: `app.realtime.toHospital(orgId, hospitalId).emit('alert:new', event)`. */
    realtime: Realtime;
  }
}

/** How long an organization's list of hospitals serves handshakes before it is read again. */
const HOSPITALS_TTL_MS = 10_000;

export interface RealtimePluginOptions {
  config: Config;
  redis: Redis | null;
}

/**
 * socket.io at /socket.io on the app's own HTTP server, attached once the app is ready and closed
 * before the database (preClose). With Redis, the Redis Streams adapter carries broadcasts between
 * instances and keeps recovery sessions.
 */
export const realtimePlugin = fp(
  async (app: FastifyInstance, opts: RealtimePluginOptions) => {
    const { config } = opts;
    const redisAdapter = opts.redis ? redisStreamsAdapter(opts.redis, config.REDIS_KEY_PREFIX) : undefined;
    // The CSRF policy of HTTP requests (auth.plugin.ts): the same trusted origins and credential cookies.
    let csrf: Promise<CsrfPolicy> | undefined;
    const csrfPolicy = () =>
      (csrf ??= app.auth.$context.then((context) => ({
        trustedOrigins: trustedOrigins(config),
        credentialCookies: [context.authCookies.sessionToken.name, context.createAuthCookie('two_factor').name],
      })));
    const hospitals = new HospitalDirectory(
      // The hospitals module's service, read when a socket connects (platform code imports no module).
      () => (app as unknown as { hospitals?: HospitalLister }).hospitals,
      Math.min(HOSPITALS_TTL_MS, config.REALTIME_RECHECK_SECONDS * 1000),
    );
    const realtime = new Realtime({
      app,
      log: app.log,
      csrf: csrfPolicy,
      hospitals,
      corsOrigins: config.CORS_ORIGINS,
      recoveryMs: config.REALTIME_RECOVERY_SECONDS * 1000,
      recheckMs: config.REALTIME_RECHECK_SECONDS * 1000,
      ...(redisAdapter ? { adapter: redisAdapter.adapter } : {}),
    });
    app.decorate('realtime', realtime);
    app.addHook('onReady', async () => {
      realtime.attach(app.server);
    });
    // Before Fastify closes the HTTP server (which would otherwise wait for open sockets) and the database.
    app.addHook('preClose', async () => {
      await realtime.close();
      redisAdapter?.close();
    });
  },
  { name: 'realtime', dependencies: ['auth', 'tenancy'] },
);
