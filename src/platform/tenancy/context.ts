import type { Role } from '../permissions.js';

export interface Membership {
  organizationId: string;
  role: Role;
}

/** Who is calling, for which tenant, and how they authenticated. Services receive this, never the request. */
export interface RequestContext {
  requestId: string;
  user: {
    id: string;
    email: string;
    name: string;
    /** True for platform administrators (Better Auth admin role `admin`). */
    platformAdmin: boolean;
  };
  authMethod: 'session' | 'bearer' | 'api-key';
  sessionId: string;
  memberships: Membership[];
  /** Resolved for routes that declare a permission. */
  organizationId: string | null;
  role: Role | null;
}

/** The context of a route that declared a permission: the tenant is always known there. */
export type TenantContext = RequestContext & { organizationId: string; role: Role };

export function assertTenant(ctx: RequestContext): asserts ctx is TenantContext {
  if (!ctx.organizationId || !ctx.role) throw new Error('route uses tenant data but declares no permission');
}
