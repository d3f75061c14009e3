import { join } from 'node:path';
import { z } from 'zod';
import { flag, password, postgresUrl, redisUrl, smtpUrl, vapidKey } from './config-fields.js';
import { protectionSettings } from './config-protection.js';
import { parseRateLimits, RATE_LIMIT_DEFAULTS, type RateLimitTable } from './platform/http/rate-limit-table.js';
import { BREAKER_TIMEOUT_DEFAULTS, type OutsideService } from './platform/resilience/breaker-table.js';

export { PASSWORD_LENGTH } from './config-fields.js';

/** Every setting Wardline reads from the environment. The README table is generated from it. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development').describe('Runtime mode.'),
  PORT: z.coerce.number().int().min(1).max(65535).default(5000).describe('HTTP port.'),
  HOST: z
    .union([z.ipv4(), z.ipv6(), z.hostname()], { error: 'must be an IP address or a host name' })
    .default('127.0.0.1')
    .describe('Interface to listen on (0.0.0.0 for all).'),
  LISTEN_BACKLOG: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(4096)
    .describe(
      "Connections the kernel may hold for the server to accept (capped by net.core.somaxconn). Node's 511 overflowed when 1,000 clients connected at once: the dropped handshakes were retried seconds later, and their first requests waited that long.",
    ),
  PUBLIC_URL: z.url().optional().describe('Public base URL of the API; default http://HOST:PORT.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  TRUST_PROXY: z
    .string()
    .default('0')
    .transform((value, ctx): number | string[] => {
      if (/^\d+$/.test(value)) return Number(value);
      const proxies = value.split(',').map((part) => part.trim());
      if (proxies.every((part) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(part))) return proxies;
      ctx.addIssue({ code: 'custom', message: 'must be a hop count or a comma-separated list of proxy IPs/CIDRs' });
      return z.NEVER;
    })
    .describe(
      'Reverse proxies trusted for X-Forwarded-For: a hop count (1 = one proxy in front) or proxy IPs/CIDRs; 0 = none.',
    ),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .describe('Embedded PGlite data folder (used when DATABASE_URL is unset).'),
  DATABASE_URL: postgresUrl.optional().describe('PostgreSQL connection URL; unset means embedded PGlite.'),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe(
      'node-postgres pool size. The read lanes (a patient by id, prepared name searches) are a quarter as many connections more, at least two, whose sessions keep one plan per statement: count both against max_connections.',
    ),
  ROLE: z
    .enum(['all', 'api', 'worker'])
    .default('all')
    .describe(
      'What this process does: all (HTTP and jobs), api (HTTP; enqueues, runs no jobs) or worker (runs jobs; serves only /health and /metrics).',
    ),
  JOBS_POLL_INTERVAL_SECONDS: z.coerce
    .number()
    .min(0.5)
    .max(60)
    .default(2)
    .describe('How often an idle job worker looks for work (a job enqueued by this process wakes it at once).'),
  ALERTS_ENGINE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .max(60_000)
    .default(500)
    .describe('How often the escalation engine looks for due alert timers: the bound on how late an escalation fires.'),
  ALERT_EVENTS_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7)
    .describe(
      'Alert events (the feed reconnecting clients catch up from) are deleted once this old (the daily alerts.prune job); timelines stay.',
    ),
  OUTBOX_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7)
    .describe('Delivered outbox messages are deleted once this old (the daily outbox.prune job).'),
  REDIS_URL: redisUrl
    .optional()
    .describe('Redis URL for the shared cache layer, its invalidation bus and rate-limit counters.'),
  REDIS_KEY_PREFIX: z
    .string()
    .min(1)
    .default('wardline:')
    .describe(
      "Prefix of every Redis key Wardline writes, and of the cache bus's channels: deployments sharing one Redis under different prefixes never see each other's keys or invalidations.",
    ),
  REDIS_CONNECT_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(3000)
    .describe('How long start-up waits for Redis before serving without it (it keeps reconnecting).'),
  AUTH_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .optional()
    .describe('Secret that signs sessions; required in production. Embedded dev mode keeps one in DATA_DIR.'),
  AUTH_SECRET_PREVIOUS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((secret) => secret.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each secret must be at least 32 characters')))
    .describe(
      'Comma-separated earlier AUTH_SECRETs: after a change of secret, two-factor secrets and token keys they sealed are sealed again with the new one.',
    ),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(300).default(43200).describe('Session lifetime (a 12-hour shift).'),
  SESSION_REFRESH_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(3600)
    .describe('A session in use is extended once this much time has passed since its last refresh.'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url()))
    .describe('Comma-separated origins allowed to call the API from a browser.'),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576).describe('Largest request body accepted.'),
  HEADERS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10000)
    .describe('Time a client has to send the request line and headers; then 408 and the connection is closed.'),
  REQUEST_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(30000)
    .describe('Time a client has to send the whole request, body included; then 408 and the connection is closed.'),
  KEEP_ALIVE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(72000)
    .describe(
      "How long an idle keep-alive connection stays open; keep it above a load balancer's idle timeout (often 60 s).",
    ),
  ...protectionSettings,
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10000)
    .describe('How long a graceful shutdown waits for in-flight requests.'),
  REALTIME_RECOVERY_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(120)
    .describe(
      'How long a dropped socket may come back and get the events it missed (socket.io connection state recovery; 0 = off).',
    ),
  REALTIME_RECHECK_SECONDS: z.coerce
    .number()
    .int()
    .min(5)
    .max(3600)
    .default(30)
    .describe(
      "How often each socket's credentials and membership are checked again: a revoked session or removed member is disconnected within this time.",
    ),
  SMTP_URL: smtpUrl
    .optional()
    .describe(
      'SMTP server for alert emails, e.g. smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465; unset = no alert emails.',
    ),
  MAIL_FROM: z
    .string()
    .regex(/^[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>$|^[^<>\s@]+@[^<>\s@]+$/, 'must be an address or "Name <address>"')
    .default('Wardline <alerts@wardline.invalid>')
    .describe('Sender of alert emails: an address or "Name <address>" your SMTP server may send as.'),
  VAPID_PUBLIC_KEY: vapidKey(65, 'public')
    .optional()
    .describe(
      'Web push VAPID public key (with VAPID_PRIVATE_KEY). Unset outside production: a pair is made once and kept in DATA_DIR/.vapid-keys.json; unset in production: no push.',
    ),
  VAPID_PRIVATE_KEY: vapidKey(32, 'private')
    .optional()
    .describe('Web push VAPID private key; a new pair ends every existing push subscription.'),
  VAPID_SUBJECT: z
    .string()
    .refine((value) => /^(mailto:\S+@\S+|https:\/\/\S+)$/.test(value), 'must be a mailto: address or an https:// URL')
    .default('mailto:alerts@wardline.invalid')
    .describe('How push services can reach who runs this server (mailto: or https:); set a real one in production.'),
  WEBHOOK_ALLOW_PRIVATE: flag
    .prefault('0')
    .describe(
      'Allow alert webhooks and push endpoints on loopback, link-local and private addresses (local setups, tests); refused when off.',
    ),
  ADMIN_EMAIL: z.email().optional().describe('First platform admin, created on first start if no user exists.'),
  ADMIN_PASSWORD: password.optional().describe('Password of ADMIN_EMAIL (12 to 128 characters).'),
  DEMO: flag.optional().describe('Force (1) or forbid (0) the synthetic demo tenant on an empty database.'),
  DEMO_PASSWORD: password.default('demo-password-123').describe('Password of every demo user (12 to 128 characters).'),
});

// Rules across variables, checked on the raw values so they are reported alongside every other problem.
function crossFieldProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  if (env.NODE_ENV === 'production' && !env.AUTH_SECRET)
    problems.push('AUTH_SECRET: is required when NODE_ENV=production');
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    problems.push(`${env.ADMIN_EMAIL ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'}: ADMIN_EMAIL and ADMIN_PASSWORD go together`);
  }
  if (env.SIGNIN_IP_LIMIT_PER_MINUTE && parseRateLimits(env.RATE_LIMITS ?? '').rows['sign-in'] !== undefined)
    problems.push('SIGNIN_IP_LIMIT_PER_MINUTE: the sign-in limit is also in RATE_LIMITS; set it in one place');
  // Node refuses a headers timeout longer than the request timeout (which includes it).
  const headersTimeout = envSchema.shape.HEADERS_TIMEOUT_MS.safeParse(env.HEADERS_TIMEOUT_MS).data;
  const requestTimeout = envSchema.shape.REQUEST_TIMEOUT_MS.safeParse(env.REQUEST_TIMEOUT_MS).data;
  if (headersTimeout !== undefined && requestTimeout !== undefined && headersTimeout > requestTimeout)
    problems.push('HEADERS_TIMEOUT_MS: must not be longer than REQUEST_TIMEOUT_MS');
  return problems;
}

export type Env = z.output<typeof envSchema>;

export interface Config extends Env {
  publicUrl: string;
  /** True when the embedded PGlite database is used. */
  embedded: boolean;
  /** PGlite's own folder inside DATA_DIR (DATA_DIR also keeps the generated auth secret). */
  pgliteDir: string;
  /** Whether an empty database gets the synthetic demo tenant. */
  demoEnabled: boolean;
  /** The rate-limit table: defaults, then SIGNIN_IP_LIMIT_PER_MINUTE, then RATE_LIMITS. */
  rateLimits: RateLimitTable;
  /** Off (0) unless set, or NODE_ENV=production (1000): elsewhere many things share the machine. */
  LOAD_SHED_EVENT_LOOP_DELAY_MS: number;
  /** Each outside service's call timeout: defaults, then BREAKER_TIMEOUTS. */
  breakerTimeouts: Record<OutsideService, number>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as it does in most deployment tooling.
  const env = Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const parsed = envSchema.safeParse(env);
  const problems = [
    ...(parsed.error?.issues ?? []).map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    ...crossFieldProblems(env),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const value = parsed.data;
  const embedded = !value.DATABASE_URL;
  const demoEnabled = value.DEMO ?? (embedded && value.NODE_ENV !== 'production');
  const reachable = value.HOST === '0.0.0.0' || value.HOST === '::' ? '127.0.0.1' : value.HOST;
  // An IPv6 address goes in brackets in a URL.
  const displayHost = reachable.includes(':') ? `[${reachable}]` : reachable;
  return {
    ...value,
    publicUrl: (value.PUBLIC_URL ?? `http://${displayHost}:${value.PORT}`).replace(/\/$/, ''),
    embedded,
    pgliteDir: join(value.DATA_DIR, 'pglite'),
    demoEnabled,
    rateLimits: {
      ...RATE_LIMIT_DEFAULTS,
      'sign-in': { max: value.SIGNIN_IP_LIMIT_PER_MINUTE, windowMs: 60_000 },
      ...value.RATE_LIMITS,
    },
    breakerTimeouts: { ...BREAKER_TIMEOUT_DEFAULTS, ...value.BREAKER_TIMEOUTS },
    LOAD_SHED_EVENT_LOOP_DELAY_MS: value.LOAD_SHED_EVENT_LOOP_DELAY_MS ?? (value.NODE_ENV === 'production' ? 1000 : 0),
  };
}
