import { z } from 'zod';
import { isIpOrCidr } from './config-fields.js';
import { parseRateLimits } from './platform/http/rate-limit-table.js';
import { parseBreakerTimeouts } from './platform/resilience/breaker-table.js';

/**
 * The settings that protect a running server (config.ts `envSchema`, in this order): sign-in limits,
 * the rate-limit table, load shedding, the request line, and the circuit breakers around outside services.
 */
export const protectionSettings = {
  SIGNIN_MAX_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Failed sign-ins for one account before it is locked out.'),
  SIGNIN_FAILURE_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(900)
    .describe('Window in which failed sign-ins are counted, and the lockout length.'),
  SIGNIN_IP_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(60)
    .describe(
      'Sign-in attempts per client IP per minute (a ward behind one NAT): the sign-in row of the rate-limit table, also settable in RATE_LIMITS.',
    ),
  RATE_LIMITS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const { rows, problems } = parseRateLimits(value);
      for (const problem of problems) ctx.addIssue({ code: 'custom', message: problem });
      return rows;
    })
    .describe(
      'Changes to the rate-limit table (README, Rate limits): comma-separated row=max/window or row=off, e.g. "ip=20000/1m,exports=10/1h"; rows: ip, user, sign-in, invitations, exports, writes, alerts, ai.',
    ),
  RATE_LIMIT_EXEMPT_IPS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const entries = value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
      for (const entry of entries.filter((part) => !isIpOrCidr(part)))
        ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR` });
      return entries;
    })
    .describe(
      'Comma-separated client IPs/CIDRs exempt from the ip and user ceilings (not from the operation rows), e.g. "127.0.0.1,::1" for a local load test; none by default.',
    ),
  LOAD_SHED_EVENT_LOOP_DELAY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'Answer 503 with Retry-After while the mean event-loop delay over the last sample exceeds this many ms (0 = off); default 1000 when NODE_ENV=production, else off. /health and /health/ready are never shed.',
    ),
  LOAD_SHED_HEAP_USED_MB: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Also shed while the V8 heap in use exceeds this many MiB (0 = off).'),
  LOAD_SHED_RSS_MB: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Also shed while the resident set size exceeds this many MiB (0 = off).'),
  LOAD_SHED_SAMPLE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .default(500)
    .describe('How often event-loop delay and memory are sampled for load shedding.'),
  LOAD_SHED_RETRY_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(10)
    .describe('Retry-After sent with a shed request.'),
  MAX_CONCURRENT_REQUESTS: z.coerce
    .number()
    .int()
    .min(0)
    .default(64)
    .describe(
      'Requests served at once; more wait their turn, first come first served (one with a body once the body is read; 0 = no limit). Health probes never wait.',
    ),
  MAX_WAITING_REQUESTS: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .describe('Requests that may wait for their turn; one more is answered 503 with Retry-After at once.'),
  MAX_REQUEST_WAIT_MS: z.coerce
    .number()
    .int()
    .min(1)
    .max(600_000)
    .default(10000)
    .describe('How long a request may wait for its turn before it is answered 503 with Retry-After.'),
  BREAKER_ERROR_PERCENT: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(50)
    .describe(
      "A circuit breaker opens when this percentage of an outside service's calls in the last 10 s failed or timed out.",
    ),
  BREAKER_VOLUME_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Calls needed in the last 10 s before a breaker may open (a single failure does not).'),
  BREAKER_RESET_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(30000)
    .describe('How long an open breaker refuses calls before it lets one through to test the service (half-open).'),
  BREAKER_TIMEOUTS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const { timeouts, problems } = parseBreakerTimeouts(value);
      for (const problem of problems) ctx.addIssue({ code: 'custom', message: problem });
      return timeouts;
    })
    .describe(
      'Per-service call timeouts, comma-separated service=duration; defaults smtp=10s, webhook=5s, push=5s, ai=60s.',
    ),
};
