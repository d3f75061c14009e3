import type { RequestContext } from '../tenancy/context.js';
import { type AuditEvent, boundedUserAgent } from './audit-event.js';

/**
 * A security event about a signed-in caller outside any one organization (their own sessions): one
 * event in the chain of each organization they belong to, so each one's admins see it, or one in the
 * platform chain for someone in none.
 */
export function callerSecurityEvents(
  ctx: RequestContext,
  at: Date,
  entry: Pick<AuditEvent, 'action' | 'resourceType' | 'resourceId'>,
): AuditEvent[] {
  const chains = ctx.memberships.length > 0 ? ctx.memberships : [null];
  return chains.map((membership) => ({
    organizationId: membership?.organizationId ?? null,
    occurredAt: at,
    actorType: ctx.apiKeyId ? 'api-key' : 'user',
    actorId: ctx.apiKeyId ?? ctx.user.id,
    actorRole: membership?.role ?? null,
    patientId: null,
    patientIds: null,
    outcome: 'success',
    ip: ctx.client.ip,
    userAgent: boundedUserAgent(ctx.client.userAgent ?? undefined),
    requestId: ctx.requestId,
    ...entry,
  }));
}
