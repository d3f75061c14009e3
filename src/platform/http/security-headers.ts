import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

type HeaderList = readonly (readonly [string, string])[];

/**
 * What every API answer carries (JSON, errors, refusals written straight to a socket, the realtime
 * transport): the headers OWASP's REST Security Cheat Sheet asks of an API. A JSON answer is never a
 * document: it may load nothing and be framed nowhere. helmet's other headers (COOP, Origin-Agent-Cluster,
 * DNS prefetch, download options, cross-domain policies, the XSS auditor) only mean something to a page a
 * browser renders, so they go with the docs UI only; leaving them off every API answer saves 500 bytes and
 * six header writes per request.
 */
export const SECURITY_HEADERS: HeaderList = [
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
  ['cross-origin-resource-policy', 'same-origin'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
];

// The API docs UI is a page: helmet's whole set. Its own routes replace the CSP with theirs (docs.plugin.ts).
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
 * helmet's headers for the docs UI, worked out once: they do not vary by request (no nonces).
 * (@fastify/helmet rebuilds them, parsing the CSP, on every request.)
 */
export const DOCUMENT_SECURITY_HEADERS: HeaderList = (() => {
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

/** Sets the security headers on a raw response: the docs UI's under /api/docs, the API's everywhere else. */
export function setSecurityHeaders(response: ServerResponse, url: string): void {
  const headers = url.startsWith('/api/docs') ? DOCUMENT_SECURITY_HEADERS : SECURITY_HEADERS;
  for (const [name, value] of headers) response.setHeader(name, value);
}

/** The API's security headers as raw HTTP header lines, for answers written straight to a socket. */
export const SECURITY_HEADER_LINES = SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}\r\n`).join('');
