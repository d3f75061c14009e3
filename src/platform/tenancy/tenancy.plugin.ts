import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, invalidPartMessage } from '../http/errors.js';
import { RecordId } from '../http/ids.js';
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
    /**
     * The path parameter naming the organization acted on, for routes about an organization itself.
     * The caller's membership there decides (none: 404); a platform admin may act on any.
     */
    organizationParam?: string;
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

/** Adds fields to the request's log lines, on both loggers (Fastify logs "request completed" on the reply's). */
function bindLog(request: FastifyRequest, reply: FastifyReply, fields: Record<string, string>) {
  request.log = request.log.child(fields);
  reply.log = request.log;
}

/**
 * A route about the organization in its path is authorized by that parameter: a misspelt one must
 * fail at start-up, not let requests through unchecked.
 */
export function checkOrganizationParam(url: string, config: FastifyContextConfig): void {
  const { permission, organizationParam } = config;
  if (organizationParam && (!permission || !url.split('/').includes(`:${organizationParam}`))) {
    throw new Error(`${url}: organizationParam needs a permission and a :${organizationParam} in the path`);
  }
}

/**
 * Builds `request.ctx` for every /api/v1 route: the caller (session cookie, bearer token or API
 * key), their memberships and, for routes that declare a permission, the organization and role,
 * failing with 401 or 403 before any handler runs.
 */
export const tenancyPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('ctx', null as unknown as RequestContext);

    app.addHook('onRoute', (route) => checkOrganizationParam(route.url, route.config ?? {}));

    app.addHook('onRequest', async (request, reply) => {
      const url = request.routeOptions.url;
      if (!url?.startsWith('/api/v1/')) return;
      const { permission, organizationParam } = request.routeOptions.config;

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
      request.ctx = ctx;
      // Bound before any check, so that a refusal is logged with who was refused, and where.
      const requested = request.headers[ORGANIZATION_HEADER];
      bindLog(request, reply, {
        userId: ctx.user.id,
        ...(typeof requested === 'string' && RecordId.safeParse(requested).success
          ? { requestedOrganizationId: requested }
          : {}),
      });
      if (!permission) return;
      const actAs = (membership: Membership) => {
        ctx.organizationId = membership.organizationId;
        ctx.role = membership.role;
        bindLog(request, reply, { organizationId: membership.organizationId, role: membership.role });
        if (!can(membership.role, permission)) {
          throw new AppError('FORBIDDEN', `the ${membership.role} role lacks the ${permission} permission`);
        }
      };
      if (!organizationParam) {
        actAs(chooseMembership(ctx, requested, principal.activeOrganizationId));
        return;
      }

      // An organization named in the path, checked with the same id rule its params schema uses.
      const organizationId = (request.params as Record<string, string>)[organizationParam] ?? '';
      const valid = RecordId.safeParse(organizationId);
      if (!valid.success) {
        const message = valid.error.issues[0]?.message ?? 'is not a valid id';
        throw new AppError('VALIDATION_FAILED', invalidPartMessage('params'), [
          { path: `params.${organizationParam}`, message },
        ]);
      }
      const membership = ctx.memberships.find((m) => m.organizationId === organizationId);
      if (ctx.user.platformAdmin) {
        // A platform admin acts on any organization, member or not.
        ctx.organizationId = organizationId;
        ctx.role = membership?.role ?? null;
        bindLog(request, reply, { organizationId });
        return;
      }
      // Another tenant's organization: its existence is not revealed.
      if (!membership) throw new AppError('NOT_FOUND', 'organization not found');
      actAs(membership);
    });
  },
  { name: 'tenancy', dependencies: ['auth', 'db'] },
);
