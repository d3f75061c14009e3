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
  /** The API key the call was made with, for `api-key` calls: the audit trail names the key, not only its owner. */
  apiKeyId: string | null;
  /** Where the call came from (the address as TRUST_PROXY resolves it), for the audit trail. */
  client: { ip: string | null; userAgent: string | null };
  memberships: Membership[];
  /** Resolved for routes that declare a permission. */
  organizationId: string | null;
  role: Role | null;
}

/** The context of a route that declared a permission: the tenant is always known there. */
export type TenantContext = RequestContext & { organizationId: string; role: Role };

export function isTenantContext(ctx: RequestContext | null): ctx is TenantContext {
  return ctx !== null && ctx.organizationId !== null && ctx.role !== null;
}
