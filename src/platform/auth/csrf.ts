import type { FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.js';
import { API_KEY_HEADER } from './auth.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CsrfPolicy {
  /** Origins allowed to send cookie-authenticated writes: the server's own and CORS_ORIGINS. */
  trustedOrigins: readonly string[];
  /** Names of the cookies that carry a credential (the session, the two-factor challenge). */
  credentialCookies: readonly string[];
}

function carriesCredentialCookie(cookieHeader: string | undefined, names: readonly string[]): boolean {
  if (!cookieHeader) return false;
  return cookieHeader.split(';').some((pair) => names.includes(pair.split('=')[0]!.trim()));
}

function originOf(value: string): string | null {
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}

/**
 * Cross-site request forgery needs a browser, and a browser says where a request comes from (Origin,
 * Referer, Sec-Fetch-Site). So a write that a cookie authenticates is refused when the browser says
 * it comes from another site; a request with no such header (curl, Node, Python, Postman, with or
 * without a cookie jar) is not a forgery and passes. Bearer tokens and API keys cannot be attached by
 * another site at all (a custom header needs a CORS preflight), so they never need an Origin.
 * A cross-site form navigation that tries to sign someone in (login CSRF) is refused too.
 */
export function checkCsrf(request: FastifyRequest, policy: CsrfPolicy): void {
  if (SAFE_METHODS.has(request.method)) return;
  const { headers } = request;
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' && headers['sec-fetch-mode'] === 'navigate') {
    throw new AppError('FORBIDDEN', 'cross-site form submissions are refused');
  }
  const headerCredential = Boolean(headers.authorization) || Boolean(headers[API_KEY_HEADER]);
  if (headerCredential || !carriesCredentialCookie(headers.cookie, policy.credentialCookies)) return;

  if (site === 'cross-site') throw new AppError('FORBIDDEN', 'cross-site requests with a session cookie are refused');
  // The browser vouches that the page came from this server, under whatever host name it was reached.
  if (site === 'same-origin') return;
  const claimed = headers.origin ?? headers.referer;
  if (claimed === undefined) return;
  const origin = claimed === 'null' ? null : originOf(claimed);
  if (origin === null || !policy.trustedOrigins.includes(origin)) {
    throw new AppError(
      'FORBIDDEN',
      'this origin may not send requests with a session cookie: add it to CORS_ORIGINS, or use a bearer token',
    );
  }
}
