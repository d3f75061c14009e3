import { BlockList, isIPv4, isIPv6 } from 'node:net';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from '../redis.js';
import { AppError } from './errors.js';
import { VolumeStore } from './volume-store.js';
import {
  RATE_LIMIT_ROWS,
  VOLUME_ROWS,
  type RateLimitOperation,
  type RateLimitRow,
  type RateLimitTable,
} from './rate-limit-table.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Adds the volume rows' counts to Redis now (they are added every VOLUME_SYNC_MS anyway). */
    syncRateLimits(): Promise<void>;
  }
  interface FastifyContextConfig {
    /**
     * The row of the rate-limit table this route also counts against, per caller (per address when
     * signed out), e.g. `config: { permission: 'alerts:raise', rateLimitOperation: 'alerts' }`.
     * Writes on /api/v1 count against `writes` without saying so.
     */
    rateLimitOperation?: RateLimitOperation;
    /** Counted by no limit at all: the health probes only (a refused probe takes the instance out of rotation). */
    rateLimitExempt?: boolean;
  }
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type Outcome = Awaited<ReturnType<Limiter>>;
type Counted = Extract<Outcome, { isAllowed: false }>;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const REFUSAL: Record<RateLimitRow, string> = {
  ip: 'too many requests from this address',
  user: 'too many requests from this account',
  'sign-in': 'too many attempts from this address',
  invitations: 'too many invitations',
  exports: 'too many exports',
  writes: 'too many changes',
  alerts: 'too many alerts',
  ai: 'too many AI requests',
};

/** The caller an authenticated /api/v1 request is counted for: its API key, or its user. */
function callerKey(request: FastifyRequest): string | undefined {
  const ctx = request.ctx as FastifyRequest['ctx'] | null;
  if (!ctx) return undefined;
  return ctx.apiKeyId ? `key:${ctx.apiKeyId}` : `user:${ctx.user.id}`;
}

function exemptionOf(entries: string[]): ((ip: string) => boolean) | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (ip) => {
    // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
    const plain = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
    return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}

const retryIn = (seconds: number) =>
  seconds < 120 ? `${Math.max(1, seconds)} seconds` : `${Math.ceil(seconds / 60)} minutes`;

/** The outcome the caller must hear about: a refusal (the longest wait first), else the fewest left. */
function tighter(a: Counted | undefined, b: Counted): boolean {
  if (!a) return true;
  if (a.isExceeded !== b.isExceeded) return b.isExceeded;
  return b.isExceeded ? b.ttl > a.ttl : b.remaining < a.remaining;
}

export interface RateLimitsOptions {
  table: RateLimitTable;
  exemptIps: string[];
  redis: Redis | null;
  keyPrefix: string;
}

/**
 * The rate-limit table applied (rate-limit-table.ts): every request is counted per client address
 * before authentication; an authenticated /api/v1 request also per caller, a write on /api/v1 against
 * `writes`, and a route that names an operation against that row. Counters live in Redis when it is
 * configured (shared by every instance), in memory otherwise. While Redis is unreachable the operation
 * rows are skipped and the volume rows (ip, user, writes) count on each instance alone (volume-store.ts).
 * Answers carry RateLimit-Limit/-Remaining/-Reset for the tightest row; a refusal is 429 RATE_LIMITED
 * with Retry-After.
 */
export const rateLimitsPlugin = fp(
  async (app: FastifyInstance, opts: RateLimitsOptions) => {
    const exempt = exemptionOf(opts.exemptIps);
    const limiters: Partial<Record<RateLimitRow, Limiter>> = {};
    const volumeStores: VolumeStore[] = [];
    const storeOf = (row: RateLimitRow, redis: Redis) => {
      const nameSpace = `${opts.keyPrefix}rate-limit:${row}:`;
      if (!(VOLUME_ROWS as readonly string[]).includes(row)) return { redis, nameSpace };
      // The volume rows (every request counts against them) sync to Redis in batches: volume-store.ts.
      const store = new VolumeStore(redis, nameSpace);
      volumeStores.push(store);
      return { store: VolumeStore.for(store) };
    };
    app.decorate('syncRateLimits', async () => void (await Promise.all(volumeStores.map((s) => s.sync()))));
    // The last counts go to Redis on shutdown, unless Redis does not answer within a second.
    app.addHook('preClose', async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        app.syncRateLimits(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000).unref())),
      ]);
      clearTimeout(timer);
    });
    for (const row of RATE_LIMIT_ROWS) {
      const limit = opts.table[row];
      if (!limit) continue;
      // One @fastify/rate-limit per row, each in its own scope: its own store, Redis namespace and key.
      await app.register(async (scope) => {
        await scope.register(rateLimit, {
          global: false,
          max: limit.max,
          timeWindow: limit.windowMs,
          ...(opts.redis ? storeOf(row, opts.redis) : { cache: 20_000 }),
          // With Redis unreachable an operation row lets a request through rather than locking everyone
          // out (the per-account sign-in lockout, kept in the database, still stands).
          skipOnError: true,
          // The address row keeps the library's key: the client IP, an IPv6 client's /64.
          ...(row === 'ip'
            ? {}
            : {
                keyGenerator: (request: FastifyRequest) => callerKey(request) ?? `ip:${normalizeIP(request.ip)}`,
              }),
          ...(exempt && (row === 'ip' || row === 'user')
            ? { allowList: (request: FastifyRequest) => exempt(request.ip) }
            : {}),
        });
        limiters[row] = scope.createRateLimit();
      });
    }

    const binding = Symbol('rate-limit binding outcome');
    app.decorateRequest(binding, undefined);
    type Counting = FastifyRequest & { [binding]?: Counted };

    const check = async (request: FastifyRequest, reply: FastifyReply, rows: RateLimitRow[]) => {
      const outcomes = await Promise.all(rows.map((row) => limiters[row]!(request)));
      const counting = request as Counting;
      let refusedBy: RateLimitRow | undefined;
      outcomes.forEach((outcome, i) => {
        if (outcome.isAllowed || !tighter(counting[binding], outcome)) return;
        counting[binding] = outcome;
        if (outcome.isExceeded) refusedBy = rows[i];
      });
      const shown = counting[binding];
      if (!shown) return;
      void reply
        .header('ratelimit-limit', shown.max)
        .header('ratelimit-remaining', shown.remaining)
        .header('ratelimit-reset', shown.ttlInSeconds);
      if (refusedBy) {
        void reply.header('retry-after', shown.ttlInSeconds);
        throw new AppError('RATE_LIMITED', `${REFUSAL[refusedBy]}; retry in ${retryIn(shown.ttlInSeconds)}`);
      }
    };

    // Per address, before authentication: a flood of bad credentials is counted too.
    if (limiters.ip) {
      app.addHook('onRequest', (request, reply, done) => {
        if (request.routeOptions.config?.rateLimitExempt) return done();
        check(request, reply, ['ip']).then(() => done(), done);
      });
    }

    // The rows that need the caller run as route hooks, after the app's (authentication among them).
    app.addHook('onRoute', (route) => {
      const config = route.config ?? {};
      if (config.rateLimitExempt) return;
      const api = route.url.startsWith('/api/v1/');
      const signedIn =
        Boolean(config.permission) || config.access === 'signed-in' || config.access === 'platform-admin';
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const rows = [
        ...(api && signedIn ? (['user'] as const) : []),
        ...(config.rateLimitOperation ? [config.rateLimitOperation] : []),
      ].filter((row) => limiters[row]);
      const writes = api && limiters.writes !== undefined && methods.some((method) => WRITE_METHODS.has(method));
      if (rows.length === 0 && !writes) return;
      const hook = async (request: FastifyRequest, reply: FastifyReply) =>
        check(request, reply, writes && WRITE_METHODS.has(request.method) ? [...rows, 'writes'] : rows);
      const existing = route.onRequest;
      route.onRequest = [...(Array.isArray(existing) ? existing : existing ? [existing] : []), hook];
    });
  },
  { name: 'rate-limits', dependencies: ['http'] },
);
