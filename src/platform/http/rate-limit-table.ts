/**
 * The rate-limit table: one row per thing counted, each a number of requests per window. Kept free of
 * Fastify so that config.ts can parse `RATE_LIMITS` against it.
 */

/**
 * Volume ceilings (every request per address, every authenticated /api/v1 request per caller, every
 * /api/v1 write per caller), counted in memory and added to Redis in batches (volume-store.ts).
 */
export const VOLUME_ROWS = ['ip', 'user', 'writes'] as const;
/** Operations a route counts against, besides the ceilings: per caller (per address when signed out). */
export const OPERATIONS = ['sign-in', 'invitations', 'exports', 'alerts', 'ai'] as const;
export const RATE_LIMIT_ROWS = [...VOLUME_ROWS, ...OPERATIONS] as const;

export type RateLimitOperation = (typeof OPERATIONS)[number];
export type RateLimitRow = (typeof RATE_LIMIT_ROWS)[number];

/** `max` requests per `windowMs`; null turns a row off. */
export type RateLimit = { max: number; windowMs: number } | null;
export type RateLimitTable = Record<RateLimitRow, RateLimit>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The defaults. The ceilings sit above what one machine can serve (a benchmark from one address and
 * one user stays under them): they stop a runaway client in a deployment of several instances, and
 * an operator lowers them to what their clients need. The operation rows are the policy.
 */
export const RATE_LIMIT_DEFAULTS: RateLimitTable = {
  ip: { max: 1_500_000, windowMs: MINUTE },
  user: { max: 1_500_000, windowMs: MINUTE },
  // Also SIGNIN_IP_LIMIT_PER_MINUTE (its default, 60, is this one).
  'sign-in': { max: 60, windowMs: MINUTE },
  invitations: { max: 200, windowMs: HOUR },
  exports: { max: 60, windowMs: HOUR },
  writes: { max: 300_000, windowMs: MINUTE },
  alerts: { max: 600, windowMs: MINUTE },
  ai: { max: 300, windowMs: HOUR },
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: MINUTE, h: HOUR };

/** "500ms", "10s", "1m", "1h" (a bare number is milliseconds) in milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNITS[match[2] ?? 'ms']!;
}

/**
 * Parses `RATE_LIMITS`: comma-separated `row=max/window` (`ip=20000/1m`, `exports=10/1h`) or
 * `row=off`. Returns the rows it names, or the problems found.
 */
export function parseRateLimits(text: string): { rows: Partial<RateLimitTable>; problems: string[] } {
  const rows: Partial<RateLimitTable> = {};
  const problems: string[] = [];
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name = '', value = ''] = entry.split('=').map((part) => part.trim());
    if (!(RATE_LIMIT_ROWS as readonly string[]).includes(name)) {
      problems.push(`"${entry}": unknown row "${name}" (rows: ${RATE_LIMIT_ROWS.join(', ')})`);
      continue;
    }
    const row = name as RateLimitRow;
    if (row in rows) problems.push(`"${row}" is named twice`);
    if (value === 'off') {
      rows[row] = null;
      continue;
    }
    const match = /^(\d+)\s*\/\s*(.+)$/.exec(value);
    const windowMs = match ? parseDuration(match[2]!) : undefined;
    const max = match ? Number(match[1]) : 0;
    if (!match || windowMs === undefined || windowMs < 1000 || max < 1) {
      problems.push(
        `"${entry}": write ${row}=<max>/<window> with max >= 1 and a window of 1s or more (10s, 1m, 1h), or ${row}=off`,
      );
      continue;
    }
    rows[row] = { max, windowMs };
  }
  return { rows, problems };
}
