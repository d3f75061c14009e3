import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import {
  authPaths,
  errorResponse,
  type OpenApiDocument,
  type Operation,
  securitySchemes,
} from './docs/auth-openapi.js';
import { ORGANIZATION_HEADER } from './tenancy/tenancy.plugin.js';

/** Fastify's `/a/:id` is OpenAPI's `/a/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const organizationHeader = {
  in: 'header',
  name: ORGANIZATION_HEADER,
  required: false,
  schema: { type: 'string' },
  description: 'The organization to act in, for a caller who belongs to several (403 if not a member).',
};

/** Routes that run in one organization (they declare a permission) take the organization header. */
function declareOrganizationHeader(document: OpenApiDocument, app: FastifyInstance) {
  for (const route of app.routeCatalog) {
    // Routes about the organization in their path do not read the header.
    if (!route.config.permission || route.config.organizationParam) continue;
    const operation = document.paths?.[openApiPath(route.url)]?.[route.method.toLowerCase()];
    if (!operation) continue;
    const parameters = (operation.parameters ?? []) as { name?: string }[];
    if (!parameters.some((p) => p.name === ORGANIZATION_HEADER))
      operation.parameters = [...parameters, organizationHeader];
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Does the operation need a credential? (`{}` among its requirements means it can do without.) */
const needsCredential = (operation: Operation, document: OpenApiDocument) => {
  const security = operation.security ?? document.security ?? [];
  return security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0);
};

/**
 * The errors any operation can give whatever its route declares (declared ones are kept): 500 from
 * the error handler, 413 and 415 from the body parser, 401 from authentication. (429 is declared
 * where a limit applies: the guarded auth routes.)
 */
export function documentCommonErrors(document: OpenApiDocument): void {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.includes(method)) continue;
      const responses = (operation.responses ??= {});
      responses['500'] ??= errorResponse('Internal error (its cause is logged, not revealed)');
      if (operation.requestBody) {
        responses['413'] ??= errorResponse('The body is larger than this server accepts');
        responses['415'] ??= errorResponse('The body is not JSON');
      }
      if (needsCredential(operation, document)) {
        responses['401'] ??= errorResponse('No credential, or not a valid one');
      }
    }
  }
}

/**
 * The docs UI's CSP (@fastify/swagger-ui's `staticCSP`), made to work over plain HTTP at any host name:
 * - without `upgrade-insecure-requests`, which has the browser fetch every asset over https (only
 *   localhost and 127.0.0.1 are exempt), so the page stayed blank; TLS, where there is some, is the
 *   proxy's business;
 * - with inline styles allowed (as helmet's CSP for the rest of the app allows them): Swagger UI sets
 *   some at run time that the listed hashes do not cover, and a hash in `style-src` would make the
 *   browser ignore 'unsafe-inline'. Scripts keep their hashes.
 */
export function docsCsp(header: string): string {
  return header
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive && directive !== 'upgrade-insecure-requests')
    .map((directive) => (directive.startsWith('style-src ') ? "style-src 'self' 'unsafe-inline'" : directive))
    .join('; ');
}

/** OpenAPI 3.1 at /api/docs/openapi.json (from the zod route schemas plus Better Auth's), UI at /api/docs. */
export const docsPlugin = fp(
  async (app: FastifyInstance, opts: { publicUrl: string }) => {
    let auth: ReturnType<typeof authPaths> | undefined;
    app.addHook('onReady', async () => {
      auth = authPaths((await app.auth.api.generateOpenAPISchema()) as unknown as OpenApiDocument);
    });
    // The names depend on the deployment (a __Secure- prefix over HTTPS); "two_factor" is the twoFactor
    // plugin's challenge cookie, which Better Auth does not export a constant for.
    const authContext = await app.auth.$context;
    const cookies = {
      session: authContext.authCookies.sessionToken.name,
      twoFactor: authContext.createAuthCookie('two_factor').name,
    };

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Wardline API',
          version: '1',
          description:
            'Self-hostable, multi-tenant healthcare backend. Every error has the envelope ' +
            '`{ "error": { "code", "message", "details?", "requestId" } }`. Callers who belong to several ' +
            `organizations choose one with the \`${ORGANIZATION_HEADER}\` header.`,
        },
        servers: [{ url: opts.publicUrl }],
        tags: [
          { name: 'auth', description: 'Sign-in, sessions, two-factor, API keys (Better Auth)' },
          { name: 'profile', description: 'The caller' },
          { name: 'organizations', description: 'Tenants' },
          { name: 'users', description: 'Members of an organization and their roles' },
          { name: 'invitations', description: 'Joining an organization' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
        components: { securitySchemes: securitySchemes(cookies) },
        security: [{ session: [] }, { bearer: [] }, { apiKey: [] }],
      },
      transform: jsonSchemaTransform,
      transformObject: (documentObject) => {
        let document = jsonSchemaTransformObject(documentObject) as OpenApiDocument;
        declareOrganizationHeader(document, app);
        if (auth) {
          document = {
            ...document,
            paths: { ...document.paths, ...auth.paths },
            components: {
              ...document.components,
              schemas: { ...document.components?.schemas, ...auth.components?.schemas },
            },
          };
        }
        documentCommonErrors(document);
        return document;
      },
    });
    // The UI's own routes (its page and assets) are public, as the document is.
    await app.register(async (ui) => {
      ui.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
      });
      await ui.register(swaggerUi, {
        routePrefix: '/api/docs',
        staticCSP: true,
        transformStaticCSP: docsCsp,
      });
    });
    app.get('/api/docs/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, () => app.swagger());
  },
  { name: 'docs', dependencies: ['auth'] },
);
