import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

// The API docs UI needs its inline script and styles; JSON responses are unaffected.
const middleware = helmet({
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-inline'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'validator.swagger.io'],
      // Plain-HTTP deployments (localhost, behind a TLS proxy) must still load the docs' assets.
      upgradeInsecureRequests: null,
    },
  },
});

/**
 * helmet's headers, worked out once: they do not vary by request (no nonces), so every answer
 * (routed, refused by the router, or written straight to a socket) gets the same list cheaply.
 * (@fastify/helmet rebuilds them, parsing the CSP, on every request: a tenth of the CPU time
 * of a simple API call.)
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = (() => {
  const headers: [string, string][] = [];
  const response = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => {},
  };
  let done = false;
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => (done = true));
  if (!done) throw new Error('helmet did not set its headers synchronously');
  return headers;
})();

/** Sets the security headers on a raw response. */
export function setSecurityHeaders(response: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADERS) response.setHeader(name, value);
}

/** The security headers as raw HTTP header lines, for answers written straight to a socket. */
export const SECURITY_HEADER_LINES = SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}\r\n`).join('');
