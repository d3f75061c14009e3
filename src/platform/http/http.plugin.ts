import { randomUUID } from 'node:crypto';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { answerWhatNodeWould, closeStalledConnectionsOnShutdown } from './edge.js';
import { AppError, errorBody, registerErrorHandling } from './errors.js';
import { setSecurityHeaders } from './security-headers.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Honours a well-formed `x-request-id` from a proxy; otherwise makes one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

const METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface RouteEntry {
  method: HTTPMethod;
  url: string;
  /** Hidden from the OpenAPI document (the docs UI itself, the Better Auth wildcard). */
  hidden: boolean;
  config: FastifyContextConfig;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, for the 405 logic and for checks over all routes (docs, permissions). */
    routeCatalog: RouteEntry[];
  }
}

/**
 * Security headers, CORS, compression, the error envelope, request-id echo, no-store on the
 * API, and 405 (with `Allow`) for a known path called with the wrong method.
 */
export const httpPlugin = fp(
  async (app: FastifyInstance, opts: { corsOrigins: string[] }) => {
    // First, so that every route (@fastify/cors's OPTIONS route too) answers errors in the envelope.
    registerErrorHandling(app);
    const corsEnabled = opts.corsOrigins.length > 0;
    // The headers every answer carries, set first so that refusals and errors have them too. Then the
    // refusals that would otherwise come from Node (a bare 400) or @fastify/cors (400 text/plain), here
    // so that they have the envelope. (Hooks on every request are synchronous: no promise per request.)
    app.addHook('onRequest', (request, reply, done) => {
      setSecurityHeaders(reply.raw, request.url);
      void reply.header('x-request-id', request.id);
      if (request.url.startsWith('/api/') && !request.url.startsWith('/api/docs')) {
        void reply.header('cache-control', 'no-store');
      }
      if (request.raw.httpVersion !== '1.0' && !request.headers.host) {
        void reply.header('connection', 'close');
        return done(new AppError('VALIDATION_FAILED', 'the Host header is required'));
      }
      if (
        corsEnabled &&
        request.method === 'OPTIONS' &&
        request.headers.origin &&
        !request.headers['access-control-request-method']
      ) {
        return done(
          new AppError('VALIDATION_FAILED', 'a CORS preflight needs an Access-Control-Request-Method header'),
        );
      }
      done();
    });
    // Without CORS_ORIGINS there is no CORS at all (not even a hook that finds nothing to do): a preflight
    // gets the 405 of a path without OPTIONS, and the browser refuses the call.
    if (corsEnabled)
      await app.register(cors, {
        // A request without Origin is not a browser's cross-origin call: no CORS headers, and a bare
        // OPTIONS is answered as on a server without CORS (405 with Allow) rather than as a bad preflight.
        origin: (origin: string | undefined, callback: (error: Error | null, allow: string[] | false) => void) =>
          callback(null, origin ? opts.corsOrigins : false),
        credentials: true,
        // @fastify/cors allows only GET, HEAD and POST unless told otherwise.
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        exposedHeaders: ['x-request-id', 'retry-after', 'set-auth-token'],
      });
    // While shutting down, a request that still arrives on an open connection gets a 503 in our envelope
    // (Fastify's own, turned off in edge.ts with return503OnClosing, has another body). Added after the
    // security headers and CORS, so that the 503 has them too.
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    closeStalledConnectionsOnShutdown(app);
    answerWhatNodeWould(app.server);
    app.addHook('onRequest', (_request, reply, done) => {
      if (!closing) return done();
      void reply.header('connection', 'close');
      done(new AppError('SERVICE_UNAVAILABLE', 'the server is shutting down: retry the request'));
    });
    await app.register(compress, { threshold: 1024 });
    // The API speaks JSON only: any other body is 415, not a string for the validator to puzzle over.
    app.removeContentTypeParser('text/plain');

    // A router of every registered path, to tell "wrong method" (405) from "no such path" (404). It
    // matches paths as Fastify's own router does (a trailing slash is a different path).
    const known = FindMyWay();
    const catalog: RouteEntry[] = [];
    app.decorate('routeCatalog', catalog);
    app.addHook('onRoute', (route) => {
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m): m is HTTPMethod =>
        METHODS.includes(m as HTTPMethod),
      );
      if (methods.length === 0) return;
      const hidden = route.schema?.hide === true;
      // Read when needed: a later onRoute hook (a child context's) may still set the route's config.
      for (const method of methods)
        catalog.push({
          method,
          url: route.url,
          hidden,
          get config() {
            return route.config ?? {};
          },
        });
      try {
        known.on(methods, route.url, () => {});
      } catch {
        // the same path and method registered twice (HEAD twins); already known
      }
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const allowed = METHODS.filter((method) => known.find(method, path) !== null);
      // A route that matched but found nothing (a missing static file) is a plain 404.
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      if (allowed.length > 0 && !allowed.includes(method as HTTPMethod)) {
        return reply
          .code(405)
          .header('allow', allowed.join(', '))
          .send(errorBody('METHOD_NOT_ALLOWED', `method ${request.method} is not allowed here`, request.id));
      }
      return reply.code(404).send(errorBody('NOT_FOUND', 'no such route', request.id));
    });
  },
  { name: 'http' },
);
