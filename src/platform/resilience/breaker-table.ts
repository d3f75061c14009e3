import { parseDuration } from '../http/rate-limit-table.js';

/** The outside services Wardline calls, each behind its own circuit breaker. */
export const OUTSIDE_SERVICES = ['smtp', 'webhook', 'push', 'ai'] as const;
export type OutsideService = (typeof OUTSIDE_SERVICES)[number];

/** How long one call to each may take before it counts as failed (BREAKER_TIMEOUTS overrides). */
export const BREAKER_TIMEOUT_DEFAULTS: Record<OutsideService, number> = {
  smtp: 10_000,
  webhook: 5_000,
  push: 5_000,
  ai: 60_000,
};

/** Parses `BREAKER_TIMEOUTS`: comma-separated `service=duration` (`smtp=15s,ai=2m`). */
export function parseBreakerTimeouts(text: string): {
  timeouts: Partial<Record<OutsideService, number>>;
  problems: string[];
} {
  const timeouts: Partial<Record<OutsideService, number>> = {};
  const problems: string[] = [];
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name = '', value = ''] = entry.split('=').map((part) => part.trim());
    if (!(OUTSIDE_SERVICES as readonly string[]).includes(name)) {
      problems.push(`"${entry}": unknown service "${name}" (services: ${OUTSIDE_SERVICES.join(', ')})`);
      continue;
    }
    const ms = parseDuration(value);
    if (ms === undefined || ms < 10) {
      problems.push(`"${entry}": write ${name}=<duration> (500ms, 10s, 1m), 10ms or more`);
      continue;
    }
    timeouts[name as OutsideService] = ms;
  }
  return { timeouts, problems };
}
