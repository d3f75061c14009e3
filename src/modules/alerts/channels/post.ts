import type { OutsideService } from '../../../platform/resilience/breaker-table.js';
import { type ChannelBreakers, HttpAnswerError, isServiceFailure, joinSignals } from './outcome.js';

/**
 * POSTs through the circuit breaker of `service` at the URL's host (one hospital's broken receiver
 * opens only its own), whose timeout (BREAKER_TIMEOUTS) aborts the request, as
 * does `signal`. Resolves with a 2xx status; any other answer throws HttpAnswerError, counted toward
 * opening the breaker only when it is a 5xx. Redirects are not followed: they could lead anywhere,
 * past the URL check.
 */
export async function postThroughBreaker(
  breakers: ChannelBreakers,
  service: OutsideService,
  url: URL,
  request: { headers: Record<string, string>; body: string | Uint8Array },
  signal?: AbortSignal,
): Promise<number> {
  return breakers.for(service, url.host).fire(
    async (breakerSignal) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: joinSignals(breakerSignal, signal),
      });
      // The answer's body is not read: free the connection.
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) throw new HttpAnswerError(response.status);
      return response.status;
    },
    { isFailure: (error) => !signal?.aborted && isServiceFailure(error) },
  );
}
