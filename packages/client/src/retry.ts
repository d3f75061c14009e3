/** How idempotent requests are retried when the server answers 503 or 429. */
export interface RetryOptions {
  /** Retries after the first attempt (default 2; 0 turns retrying off). */
  retries?: number;
  /**
   * The longest wait before a retry, in milliseconds (default 10 000). A `Retry-After` asking for
   * longer is not waited for: the error is returned at once.
   */
  maxDelayMs?: number;
}

/** Methods that may be sent twice with the same effect (RFC 9110, 9.2.2). POST and PATCH are not. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const RETRY_STATUSES = new Set([429, 503]);
/** Wait before retry n (0-based) when the server gives no Retry-After. */
const backoffMs = (attempt: number) => 200 * 2 ** attempt;

/** Milliseconds to wait as `Retry-After` says (delay-seconds or an HTTP date); `undefined` if absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `fetch`, retrying idempotent requests on 503 and 429 as their `Retry-After` says, a bounded number of times. */
export function retryingFetch(
  fetch: (request: Request) => Promise<Response>,
  options: RetryOptions = {},
): (request: Request) => Promise<Response> {
  const retries = Math.max(0, options.retries ?? 2);
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  return async (request) => {
    if (!IDEMPOTENT.has(request.method.toUpperCase()) || retries === 0) return fetch(request);
    for (let attempt = 0; ; attempt++) {
      // A body can be read once; every attempt sends a copy.
      const response = await fetch(attempt < retries ? request.clone() : request);
      if (attempt >= retries || !RETRY_STATUSES.has(response.status)) return response;
      const delay = retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt);
      if (delay > maxDelayMs) return response;
      await response.body?.cancel();
      await sleep(delay, request.signal);
    }
  };
}
