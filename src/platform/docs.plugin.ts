import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { AUTH_ENDPOINTS } from './auth/auth-endpoints.js';
import { AUTH_BASE_PATH, API_KEY_HEADER } from './auth/auth.js';
import { ORGANIZATION_HEADER } from './tenancy/tenancy.plugin.js';

type OpenApiDocument = {
  paths?: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  tags?: { name: string; description?: string }[];
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/**
 * Better Auth's own OpenAPI description of /api/auth/*, re-rooted under our prefix, its schemas
 * renamed so they cannot clash with ours, and its error responses replaced by our envelope.
 */
function authPaths(document: OpenApiDocument): Pick<OpenApiDocument, 'paths' | 'components'> {
  const renamed = JSON.parse(
    JSON.stringify(document).replaceAll('#/components/schemas/', '#/components/schemas/Auth'),
  ) as OpenApiDocument;
  const paths: NonNullable<OpenApiDocument['paths']> = {};
  for (const [path, allOperations] of Object.entries(renamed.paths ?? {})) {
    // Only what Wardline exposes (AUTH_ENDPOINTS), with the one method it is routed for.
    const exposed = AUTH_ENDPOINTS[path];
    const operation = exposed ? allOperations[exposed.method.toLowerCase()] : undefined;
    if (!exposed || !operation) continue;
    operation.tags = ['auth'];
    const responses = (operation.responses ?? {}) as Record<string, unknown>;
    for (const status of Object.keys(responses)) {
      if (Number(status) >= 400) responses[status] = errorResponse('Error');
    }
    responses['429'] = errorResponse('Too many attempts');
    paths[`${AUTH_BASE_PATH}${path}`] = { [exposed.method.toLowerCase()]: operation };
  }
  // Every step of an invitation takes its secret token (see requestRules in auth.ts).
  for (const [path, description] of [
    ['/sign-up/email', 'The token of the open invitation for this email (sign-up is by invitation only).'],
    ['/organization/accept-invitation', 'The token of this invitation, shown once to the inviting admin.'],
    ['/organization/reject-invitation', 'The token of this invitation, shown once to the inviting admin.'],
  ] as const) {
    const operation = paths[`${AUTH_BASE_PATH}${path}`]?.post as
      | { requestBody?: { content?: Record<string, { schema?: { properties?: object; required?: string[] } }> } }
      | undefined;
    const schema = operation?.requestBody?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`the auth document has no request body for ${path}`);
    schema.properties = { ...schema.properties, invitationToken: { type: 'string', description } };
    schema.required = [...(schema.required ?? []), 'invitationToken'];
  }
  const schemas = Object.fromEntries(
    Object.entries(renamed.components?.schemas ?? {}).map(([name, schema]) => [`Auth${name}`, schema]),
  );
  return { paths, components: { schemas } };
}

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
    if (!route.config.permission) continue;
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const operation = document.paths?.[path]?.[route.method.toLowerCase()];
    if (!operation) continue;
    const parameters = (operation.parameters ?? []) as { name?: string }[];
    if (!parameters.some((p) => p.name === ORGANIZATION_HEADER))
      operation.parameters = [...parameters, organizationHeader];
  }
}

/** OpenAPI 3.1 at /api/docs/openapi.json (from the zod route schemas plus Better Auth's), UI at /api/docs. */
export const docsPlugin = fp(
  async (app: FastifyInstance, opts: { publicUrl: string }) => {
    let auth: ReturnType<typeof authPaths> | undefined;
    app.addHook('onReady', async () => {
      auth = authPaths((await app.auth.api.generateOpenAPISchema()) as unknown as OpenApiDocument);
    });

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
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'cookie', name: 'better-auth.session_token' },
            bearer: { type: 'http', scheme: 'bearer', description: 'The token returned by sign-in' },
            apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER },
          },
        },
        security: [{ session: [] }, { bearer: [] }, { apiKey: [] }],
      },
      transform: jsonSchemaTransform,
      transformObject: (documentObject) => {
        const document = jsonSchemaTransformObject(documentObject) as OpenApiDocument;
        declareOrganizationHeader(document, app);
        if (!auth) return document;
        return {
          ...document,
          paths: { ...document.paths, ...auth.paths },
          components: {
            ...document.components,
            schemas: { ...document.components?.schemas, ...auth.components?.schemas },
          },
        } as never;
      },
    });
    await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
    app.get('/api/docs/openapi.json', { schema: { hide: true } }, () => app.swagger());
  },
  { name: 'docs', dependencies: ['auth'] },
);
