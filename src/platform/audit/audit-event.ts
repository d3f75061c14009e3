import { createHash } from 'node:crypto';

export const AUDIT_OUTCOMES = ['success', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export type ActorType = 'user' | 'api-key' | 'system' | 'anonymous';

/** The chain of events that belong to no organization (sign-in failures for unknown emails, platform admin acts). */
export const PLATFORM_CHAIN = 'platform';

/** What happened, to what, by whom, from where. Ids only: never a name, a birth date or a note. */
export interface AuditEvent {
  organizationId: string | null;
  occurredAt: Date;
  actorType: ActorType;
  /** The user id, or the API key id for `api-key`. */
  actorId: string | null;
  actorRole: string | null;
  /** `<resource>.<verb>`: `patient.read`, `users.role-change`, `auth.sign-in`. */
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  /** The one patient the event is about. */
  patientId: string | null;
  /** Every patient the event disclosed when there were several (a page of a list); null otherwise. */
  patientIds: readonly string[] | null;
  outcome: AuditOutcome;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

const USER_AGENT_MAX = 256;

/** Trims what a client controls to a bounded size. */
export function boundedUserAgent(value: string | undefined): string | null {
  if (!value) return null;
  return value.length > USER_AGENT_MAX ? value.slice(0, USER_AGENT_MAX) : value;
}

/**
 * The canonical serialization the chain covers: a JSON array of every field in a fixed order, the
 * time as ISO 8601 to the millisecond (what the column keeps). The writer and the verifier both use it.
 * `v1` for an event without `patientIds` (so every event written before that column keeps its digest);
 * `v2` is the same array with `patientIds` last.
 */
export function canonicalEvent(event: AuditEvent): string {
  const patientIds = event.patientIds ?? null;
  const fields = [
    patientIds === null ? 'v1' : 'v2',
    event.organizationId,
    event.occurredAt.toISOString(),
    event.actorType,
    event.actorId,
    event.actorRole,
    event.action,
    event.resourceType,
    event.resourceId,
    event.patientId,
    event.outcome,
    event.ip,
    event.userAgent,
    event.requestId,
  ];
  return JSON.stringify(patientIds === null ? fields : [...fields, patientIds]);
}

export function digestOf(event: AuditEvent): string {
  return createHash('sha256').update(canonicalEvent(event)).digest('hex');
}

/** The link the database computes in audit_append: sha256(prev_hash:seq:digest). */
export function chainHash(prevHash: string, seq: number, digest: string): string {
  return createHash('sha256').update(`${prevHash}:${seq}:${digest}`).digest('hex');
}

export const GENESIS_HASH = '0'.repeat(64);

/** The JSON object audit_append takes for one event. */
export function appendRecord(event: AuditEvent) {
  return {
    chain_id: event.organizationId ?? PLATFORM_CHAIN,
    organization_id: event.organizationId,
    occurred_at: event.occurredAt.toISOString(),
    actor_type: event.actorType,
    actor_id: event.actorId,
    actor_role: event.actorRole,
    action: event.action,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    patient_id: event.patientId,
    patient_ids: event.patientIds ?? null,
    outcome: event.outcome,
    ip: event.ip,
    user_agent: event.userAgent,
    request_id: event.requestId,
    digest: digestOf(event),
  };
}
