import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { hospitals, rooms, units } from '../hospitals/hospitals.schema.js';
import { patients } from '../patients/patients.schema.js';
import type { ChannelChoice, EscalationRule } from './escalation-policy.js';

/**
 * A hospital's escalation policy (one row per hospital; none means the default policy). Edits never
 * reach a running alert: the policy is frozen onto each alert when it is raised.
 */
export const escalationPolicies = tenantTable(
  'escalation_policies',
  {
    hospitalId: text('hospital_id').notNull(),
    rules: jsonb('rules').$type<EscalationRule[]>().notNull(),
    ackTimeoutSeconds: integer('ack_timeout_seconds').notNull(),
    /** Outside channels per urgency for staff who have not chosen their own (in-app and sockets always). */
    channels: jsonb('channels').$type<ChannelChoice>(),
    /** A Slack-compatible webhook told of every alert and escalation of the hospital (no patient data). */
    webhookUrl: text('webhook_url'),
    updatedBy: text('updated_by').references(() => users.id),
  },
  (t) => [
    tenantIndex('escalation_policies_hospital_idx').unique().on(t.hospitalId),
    tenantReference('escalation_policies_hospital_fk', t.hospitalId, () => hospitals),
  ],
);

/** What an alert keeps of its hospital's policy when it is raised. */
export interface FrozenPolicy {
  delaysSeconds: number[];
  ackTimeoutSeconds: number;
}

/**
 * Alerts. `status`: active -> acknowledged -> resolved, or silenced until a time; unacknowledge goes
 * back to active. `step` counts the escalation steps fired (0 when raised: tier 1 is notified at
 * once); `tier` is the highest tier notified. `next_escalation_at` is the durable timer: the
 * escalation engine claims due rows with FOR UPDATE SKIP LOCKED, so each step fires once, whichever
 * process gets there, and after a restart. It is null when nothing is pending (resolved, or past the
 * last step). At most one open alert per (hospital, room, type): a repeat raises `raised_count`.
 */
export const alerts = tenantTable(
  'alerts',
  {
    hospitalId: text('hospital_id').notNull(),
    unitId: text('unit_id').notNull(),
    roomId: text('room_id').notNull(),
    patientId: text('patient_id'),
    type: text('type').notNull(),
    urgency: integer('urgency').notNull(),
    priority: text('priority').notNull(),
    description: text('description'),
    status: text('status').notNull().default('active'),
    source: text('source').notNull(),
    raisedBy: text('raised_by').references(() => users.id),
    raisedCount: integer('raised_count').notNull().default(1),
    lastRaisedAt: timestampColumn('last_raised_at').notNull(),
    policy: jsonb('policy').$type<FrozenPolicy>().notNull(),
    tier: integer('tier').notNull().default(1),
    step: integer('step').notNull().default(0),
    nextEscalationAt: timestampColumn('next_escalation_at'),
    acknowledgedAt: timestampColumn('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by').references(() => users.id),
    silencedUntil: timestampColumn('silenced_until'),
    resolvedAt: timestampColumn('resolved_at'),
    resolvedBy: text('resolved_by').references(() => users.id),
    resolution: text('resolution'),
  },
  (t) => [
    tenantIndex('alerts_open_room_type_idx')
      .unique()
      .on(t.hospitalId, t.roomId, t.type)
      .where(sql`${t.status} <> 'resolved'`),
    tenantIndex('alerts_status_idx').on(t.status, t.createdAt),
    tenantIndex('alerts_hospital_status_idx').on(t.hospitalId, t.status, t.createdAt),
    tenantIndex('alerts_unit_idx').on(t.unitId, t.createdAt),
    // The engine's scan crosses organizations: this index is on the timer alone.
    index('alerts_next_escalation_idx')
      .on(t.nextEscalationAt)
      .where(sql`${t.nextEscalationAt} is not null`),
    tenantReference('alerts_hospital_fk', t.hospitalId, () => hospitals),
    tenantReference('alerts_unit_fk', t.unitId, () => units),
    tenantReference('alerts_room_fk', t.roomId, () => rooms),
    tenantReference('alerts_patient_fk', t.patientId, () => patients),
    check('alerts_urgency_check', sql`${t.urgency} between 1 and 5`),
    check('alerts_status_check', sql`${t.status} in ('active', 'acknowledged', 'silenced', 'resolved')`),
  ],
);

/**
 * Every event of an alert, append-only (a trigger refuses UPDATE and DELETE): raised, repeated,
 * notified (who, by which channel, with what result), escalated, acknowledged, silenced, resolved.
 */
export const alertTimeline = tenantTable(
  'alert_timeline',
  {
    /** The order rows were written in (several share a timestamp: one transaction writes them). */
    position: bigint('position', { mode: 'number' }).generatedAlwaysAsIdentity(),
    alertId: text('alert_id').notNull(),
    type: text('type').notNull(),
    actorId: text('actor_id').references(() => users.id),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [
    tenantIndex('alert_timeline_alert_idx').on(t.alertId, t.position),
    tenantReference('alert_timeline_alert_fk', t.alertId, () => alerts),
  ],
);

/**
 * The organization's real-time alert events, numbered by `seq` (one counter per organization, taken
 * under a row lock, so events commit in `seq` order). What went out over the socket is kept here,
 * so `GET /api/v1/alerts/events?after=SEQ` gives a reconnecting client exactly what it missed. Kept
 * ALERT_EVENTS_RETENTION_DAYS: the daily `alerts.prune` job deletes older rows (a trigger refuses any
 * other change or delete).
 */
export const alertEvents = tenantTable(
  'alert_events',
  {
    seq: bigint('seq', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    alertId: text('alert_id').notNull(),
    hospitalId: text('hospital_id').notNull(),
    alert: jsonb('alert').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    tenantIndex('alert_events_seq_idx').unique().on(t.seq),
    // The retention job's scan crosses organizations: this index is on the time alone.
    index('alert_events_created_at_idx').on(t.createdAt),
    tenantReference('alert_events_alert_fk', t.alertId, () => alerts),
  ],
);

/**
 * In-app notifications: one per person told of an alert (or its escalation), with read state. The
 * title and body name the unit and room, never the patient.
 */
export const notifications = tenantTable(
  'notifications',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    alertId: text('alert_id').notNull(),
    kind: text('kind').notNull(),
    tier: integer('tier').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    readAt: timestampColumn('read_at'),
  },
  (t) => [
    tenantIndex('notifications_user_idx').on(t.userId, t.createdAt),
    tenantIndex('notifications_unread_idx')
      .on(t.userId)
      .where(sql`${t.readAt} is null`),
    tenantReference('notifications_alert_fk', t.alertId, () => alerts),
  ],
);

/** A person's own choice of outside channels per urgency (what they leave out follows the hospital's). */
export const notificationPreferences = tenantTable(
  'notification_preferences',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    channels: jsonb('channels').$type<ChannelChoice>().notNull(),
  },
  (t) => [tenantIndex('notification_preferences_user_idx').unique().on(t.userId)],
);

/** Browsers and devices a person gets web push on (made by the browser's PushManager.subscribe). */
export const pushSubscriptions = tenantTable(
  'push_subscriptions',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    endpoint: text('endpoint').notNull(),
    p256dh: text('p256dh').notNull(),
    auth: text('auth').notNull(),
  },
  (t) => [
    tenantIndex('push_subscriptions_endpoint_idx').unique().on(t.endpoint),
    tenantIndex('push_subscriptions_user_idx').on(t.userId),
  ],
);

/**
 * Maintenance windows of a unit: while one is open, alerts of the unit are still raised, recorded,
 * numbered and shown, but nobody is notified (the timeline says `suppressed`).
 */
export const maintenanceWindows = tenantTable(
  'maintenance_windows',
  {
    unitId: text('unit_id').notNull(),
    startsAt: timestampColumn('starts_at').notNull(),
    endsAt: timestampColumn('ends_at').notNull(),
    reason: text('reason').notNull(),
    createdBy: text('created_by').references(() => users.id),
  },
  (t) => [
    tenantIndex('maintenance_windows_unit_idx').on(t.unitId, t.endsAt),
    tenantReference('maintenance_windows_unit_fk', t.unitId, () => units),
    check('maintenance_windows_span_check', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);
