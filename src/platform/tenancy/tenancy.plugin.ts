import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../http/errors.js';
import { can, type Permission } from '../permissions.js';
import { authenticate } from './authenticate.js';
import type { Membership, RequestContext } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    /** The action a route needs; implies authentication and a resolved organization. */
    permission?: Permission;
  }
}

export const ORGANIZATION_HEADER = 'x-organization-id';

function chooseMembership(ctx: RequestContext, header: unknown, activeOrganizationId: string | null): Membership {
  if (typeof header === 'string' && header !== '') {
    const chosen = ctx.memberships.find((m) => m.organizationId === header);
    if (!chosen) throw new AppError('FORBIDDEN', 'you are not a member of that organization');
    return chosen;
  }
  if (ctx.memberships.length === 0) throw new AppError('FORBIDDEN', 'you are not a member of any organization');
  if (ctx.memberships.length === 1) return ctx.memberships[0]!;
  const active = ctx.memberships.find((m) => m.organizationId === activeOrganizationId);
  if (active) return active;
  throw new AppError(
    'VALIDATION_FAILED',
    `you belong to several organizations: choose one with the ${ORGANIZATION_HEADER} header`,
  );
}

/**
 * Builds `request.ctx` for every /api/v1 route: the caller (session cookie, bearer token or API
 * key), their memberships and, for routes that declare a permission, the organization and role,
 * failing with 401 or 403 before any handler runs.
 */
export const tenancyPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('ctx', null as unknown as RequestContext);

    app.addHook('onRequest', async (request, reply) => {
      const url = request.routeOptions.url;
      if (!url?.startsWith('/api/v1/')) return;
      const { permission } = request.routeOptions.config;

      const principal = await authenticate(app, request);
      if (!principal) throw new AppError('UNAUTHENTICATED', 'sign in, or send a bearer token or API key');

      const ctx: RequestContext = {
        requestId: request.id,
        user: {
          id: principal.user.id,
          email: principal.user.email,
          name: principal.user.name,
          platformAdmin: principal.user.role === 'admin',
        },
        authMethod: principal.authMethod,
        sessionId: principal.sessionId,
        memberships: await app.memberships.of(principal.user.id),
        organizationId: null,
        role: null,
      };
      if (permission) {
        const membership = chooseMembership(ctx, request.headers[ORGANIZATION_HEADER], principal.activeOrganizationId);
        ctx.organizationId = membership.organizationId;
        ctx.role = membership.role;
        if (!can(membership.role, permission)) {
          throw new AppError('FORBIDDEN', `the ${membership.role} role lacks the ${permission} permission`);
        }
      }
      request.ctx = ctx;
      // Both loggers: Fastify writes "request completed" through the reply's.
      request.log = request.log.child({ userId: ctx.user.id, organizationId: ctx.organizationId ?? undefined });
      reply.log = request.log;
    });
  },
  { name: 'tenancy', dependencies: ['auth', 'db'] },
);
