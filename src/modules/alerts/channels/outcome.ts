import type { OutsideService } from '../../../platform/resilience/breaker-table.js';
import { BreakerOpenError, type Breakers } from '../../../platform/resilience/breakers.js';

/**
 * What a channel did with one message. The alerts job writes it on the alert's timeline and throws
 * again on a retryable failure so that pg-boss retries with backoff. A reason is short and names at
 * most a host or an email domain: never the message, an address or a URL path (a webhook's path is
 * often its secret).
 */
export type DeliveryOutcome =
  | { status: 'sent'; detail?: string }
  /** `gone`: the push subscription no longer exists (404/410) or can never work; delete it. */
  | { status: 'failed'; reason: string; retryable: boolean; gone?: true }
  | { status: 'skipped'; reason: string };

/** What the channels need of the app's circuit breakers (`app.breakers`). */
export type ChannelBreakers = Pick<Breakers, 'for'>;

export const sent = (detail?: string): DeliveryOutcome => ({ status: 'sent', ...(detail ? { detail } : {}) });

export const failed = (reason: string, retryable: boolean): DeliveryOutcome => ({
  status: 'failed',
  reason,
  retryable,
});

export const gone = (reason: string): DeliveryOutcome => ({ status: 'failed', reason, retryable: false, gone: true });

export const skipped = (reason: string): DeliveryOutcome => ({ status: 'skipped', reason });

/**
 * A receiver answered, but not with 2xx. Thrown inside a breaker call so that `isFailure` can tell
 * the service's fault (5xx) from an answer about this one request (4xx), which must not open the
 * breaker that every hospital's deliveries share.
 */
export class HttpAnswerError extends Error {
  constructor(readonly status: number) {
    super(`answered ${status}`);
    this.name = 'HttpAnswerError';
  }
}

/** For `fire(..., { isFailure })`: no answer at all, or a 5xx, counts toward opening the breaker. */
export function isServiceFailure(error: unknown): boolean {
  return !(error instanceof HttpAnswerError) || error.status >= 500;
}

/** An error's code (ECONNREFUSED, ETIMEDOUT), looking into fetch's `cause`; never its message. */
export function errorCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error && /^[A-Za-z]{1,40}$/.test(error.name) ? error.name : 'error';
}

/** The outcome of a call that got no answer: breaker open, cancelled, timed out, or unreachable. All retry. */
export function unanswered(service: OutsideService, error: unknown, signal?: AbortSignal): DeliveryOutcome {
  if (error instanceof BreakerOpenError) {
    return failed(`${service}${error.host ? ` ${error.host}` : ''} unavailable (circuit breaker open)`, true);
  }
  if (signal?.aborted) return failed(`${service} call cancelled`, true);
  const code = errorCode(error);
  if (code === 'ETIMEDOUT' || code === 'TimeoutError') return failed(`${service} timed out`, true);
  return failed(`${service} unreachable (${code})`, true);
}

/** The breaker's signal, joined with the caller's when there is one (a job that is stopping). */
export function joinSignals(breakerSignal: AbortSignal, callerSignal?: AbortSignal): AbortSignal {
  return callerSignal ? AbortSignal.any([breakerSignal, callerSignal]) : breakerSignal;
}
