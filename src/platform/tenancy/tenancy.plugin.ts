import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { AppError, invalidPartMessage } from '../http/errors.js';
import { RecordId } from '../http/ids.js';
import { can, type Permission } from '../permissions.js';
import { authenticate } from './authenticate.js';
import { isTenantContext, type Membership, type RequestContext, type TenantContext } from './context.js';

/**
 * Who may call a route that declares no permission:
 * - public: anyone, unauthenticated (health, API docs, sign-in);
 * - signed-in: any authenticated caller, in no particular organization (their profile);
 * - platform-admin: platform administrators only;
 * - better-auth: a Better Auth endpoint under /api/auth, which authenticates its callers itself.
 */
export const ACCESS = ['public', 'signed-in', 'platform-admin', 'better-auth'] as const;
export type Access = (typeof ACCESS)[number];

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, on every route that is not public. */
    ctx: RequestContext;
    /** The caller in their organization, on routes that declare a permission (anywhere else, reading it throws). */
    readonly tenant: TenantContext;
  }
  interface FastifyContextConfig {
    /** The action a route needs; implies authentication and a resolved organization. */
    permission?: Permission;
    /**
     * The path parameter naming the organization acted on, for routes about an organization itself.
     * The caller's membership there decides (none: 404); a platform admin may act on any.
     */
    organizationParam?: string;
    /** Who may call a route without a permission; every route declares one or the other. */
    access?: Access;
  }
}

export const ORGANIZATION_HEADER = 'x-organization-id';

/**
 * Why a route's declaration cannot stand, or undefined when it can. Every route says who may call
 * it: a permission (tenant routes), or an explicit access; a route that says nothing would otherwise
 * be reachable by anyone, so it stops start-up instead.
 */
export function declarationProblem(url: string, config: FastifyContextConfig): string | undefined {
  const { permission, organizationParam, access } = config;
  if (permission && access) return 'declares both a permission and an access; choose one';
  if (!permission && !access) {
    return `declares neither config.permission nor config.access (${ACCESS.join(', ')})`;
  }
  if (access && !ACCESS.includes(access)) return `declares an unknown access "${String(access)}"`;
  if (organizationParam && (!permission || !url.split('/').includes(`:${organizationParam}`))) {
    return `organizationParam needs a permission and a :${organizationParam} in the path`;
  }
  return undefined;
}

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
 * Adds fields to the request's log lines. Fastify gives each request a pino logger of its own (the
 * reply shares it), so its bindings are extended in place rather than through another child per
 * request. (With logging off, the logger is Fastify's shared no-op one, which has nothing to bind.)
 */
function bindLog(request: FastifyRequest, fields: Record<string, string>) {
  (request.log as Partial<Pick<Logger, 'setBindings'>>).setBindings?.(fields);
}

/** The organization named in the path, checked with the same id rule its params schema uses. */
function organizationInPath(request: FastifyRequest, param: string): string {
  const organizationId = (request.params as Record<string, string>)[param] ?? '';
  const valid = RecordId.safeParse(organizationId);
  if (!valid.success) {
    const message = valid.error.issues[0]?.message ?? 'is not a valid id';
    throw new AppError('VALIDATION_FAILED', invalidPartMessage('params'), [{ path: `params.${param}`, message }]);
  }
  return organizationId;
}

/**
 * Builds `request.ctx` for every route that is not public, from what the route declares: the caller
 * (session cookie, bearer token or API key), their memberships and, for routes that declare a
 * permission, the organization and role, failing with 401 or 403 before any handler runs.
 */
export const tenancyPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('ctx', null as unknown as RequestContext);
    app.decorateRequest('tenant', {
      getter(this: FastifyRequest): TenantContext {
        if (!isTenantContext(this.ctx)) {
          throw new Error(`${this.routeOptions.url} reads request.tenant but declares no permission`);
        }
        return this.ctx;
      },
    });

    // Checked over every route, also those registered before this plugin (Better Auth's).
    app.addHook('onReady', async () => {
      const problems = app.routeCatalog.flatMap((route) => {
        const problem = declarationProblem(route.url, route.config);
        return problem ? [`${route.method} ${route.url} ${problem}`] : [];
      });
      if (problems.length > 0)
        throw new Error(`Routes without a valid access declaration:\n  ${problems.join('\n  ')}`);
    });

    // Public routes pass straight through (no promise); the others are resolved by `establish`.
    app.addHook('onRequest', (request, _reply, done) => {
      const { permission, access } = request.routeOptions.config;
      if (!permission && (access === undefined || access === 'public' || access === 'better-auth')) return done();
      // Whatever it rejects with stops the request (a falsy reason would otherwise let it through).
      establish(request).then(
        () => done(),
        (error: unknown) => done(error instanceof Error ? error : new Error('the caller could not be established')),
      );
    });

    async function establish(request: FastifyRequest): Promise<void> {
      const { permission, organizationParam, access } = request.routeOptions.config;
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
        apiKeyId: principal.apiKeyId,
        client: { ip: request.ip ?? null, userAgent: request.headers['user-agent'] ?? null },
        memberships: await app.memberships.of(principal.user.id),
        organizationId: null,
        role: null,
      };
      request.ctx = ctx;
      // Bound before any check, so that a refusal is logged with who was refused, and where.
      const requested = request.headers[ORGANIZATION_HEADER];
      bindLog(request, {
        userId: ctx.user.id,
        ...(typeof requested === 'string' && RecordId.safeParse(requested).success
          ? { requestedOrganizationId: requested }
          : {}),
      });
      if (access === 'platform-admin' && !ctx.user.platformAdmin) {
        throw new AppError('FORBIDDEN', 'only a platform admin may do this');
      }
      if (!permission) return;
      const actAs = (membership: Membership) => {
        ctx.organizationId = membership.organizationId;
        ctx.role = membership.role;
        bindLog(request, { organizationId: membership.organizationId, role: membership.role });
        if (!can(membership.role, permission)) {
          throw new AppError('FORBIDDEN', `the ${membership.role} role lacks the ${permission} permission`);
        }
      };
      if (!organizationParam) {
        actAs(chooseMembership(ctx, requested, principal.activeOrganizationId));
        return;
      }
      const organizationId = organizationInPath(request, organizationParam);
      const membership = ctx.memberships.find((m) => m.organizationId === organizationId);
      if (ctx.user.platformAdmin) {
        // A platform admin acts on any organization, member or not.
        ctx.organizationId = organizationId;
        ctx.role = membership?.role ?? null;
        bindLog(request, { organizationId });
        return;
      }
      // Another tenant's organization: its existence is not revealed.
      if (!membership) throw new AppError('NOT_FOUND', 'organization not found');
      actAs(membership);
    }
  },
  { name: 'tenancy', dependencies: ['auth', 'db', 'http'] },
);
