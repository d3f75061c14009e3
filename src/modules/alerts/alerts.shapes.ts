/** Request and response shapes of clinical alerts, escalation policies and in-app notifications. */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { ALERT_TYPES, OUTSIDE_CHANNELS, policyProblems } from './escalation-policy.js';

export const ALERT_STATUSES = ['active', 'acknowledged', 'silenced', 'resolved'] as const;
export const ALERT_EVENT_TYPES = ['alert:new', 'alert:updated', 'alert:escalated', 'alert:resolved'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

export const RaiseAlert = z
  .strictObject({
    hospitalId: RecordId,
    unitId: RecordId.describe('A unit of that hospital.'),
    roomId: RecordId.describe('A room of that unit.'),
    type: z.enum(ALERT_TYPES),
    urgency: z.int().min(1).max(5).describe('5 is high priority, 3-4 medium, 1-2 low.'),
    description: plainText(1, 500)
      .optional()
      .describe('What is happening; shown in the app only, never in push, email or webhooks.'),
    patientId: RecordId.optional().describe('The patient concerned, if known; never inferred from the room.'),
    patientMrn: z
      .string()
      .trim()
      .min(1)
      .max(32)
      .optional()
      .describe("The patient's MRN: with patientId, the second identifier. Required when patientId is given."),
  })
  .refine((body) => (body.patientId === undefined) === (body.patientMrn === undefined), {
    message: 'a patient is identified by two identifiers: give patientId and patientMrn together',
    path: ['patientMrn'],
  })
  .meta({ id: 'RaiseAlert' });
export type RaiseAlert = z.infer<typeof RaiseAlert>;

export const SilenceAlert = z
  .strictObject({
    until: z.iso.datetime({ offset: true }).describe('When notifications resume (at most 24 hours ahead).'),
  })
  .meta({ id: 'SilenceAlert' });
export const ResolveAlert = z
  .strictObject({ resolution: plainText(1, 1000).describe('What was done.') })
  .meta({ id: 'ResolveAlert' });

export const Alert = z
  .object({
    id: z.string(),
    hospitalId: z.string(),
    unitId: z.string(),
    roomId: z.string(),
    patientId: z.string().nullable(),
    type: z.string(),
    urgency: z.number(),
    priority: z.enum(['high', 'medium', 'low']),
    description: z.string().nullable(),
    status: z.enum(ALERT_STATUSES),
    source: z.enum(['user', 'api-key', 'system']),
    raisedBy: z.string().nullable(),
    raisedCount: z.number().describe('How many times it was raised while open (repeats are counted, not duplicated).'),
    lastRaisedAt: z.date(),
    tier: z
      .number()
      .describe('The highest tier notified: 1 nurses on duty in the unit, 2 adds doctors, 3 adds managers.'),
    step: z.number().describe('Escalation steps fired so far (0: only the first notification).'),
    nextEscalationAt: z.date().nullable(),
    acknowledgedAt: z.date().nullable(),
    acknowledgedBy: z.string().nullable(),
    silencedUntil: z.date().nullable(),
    resolvedAt: z.date().nullable(),
    resolvedBy: z.string().nullable(),
    resolution: z.string().nullable(),
    policy: z.object({ delaysSeconds: z.array(z.number()), ackTimeoutSeconds: z.number() }),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Alert' });
export type Alert = z.infer<typeof Alert>;

export const AlertTimelineEntry = z
  .object({
    id: z.string(),
    type: z.string(),
    actorId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
    at: z.date(),
  })
  .meta({ id: 'AlertTimelineEntry' });

export const AlertDetail = Alert.extend({
  location: z.object({ hospitalName: z.string(), unitName: z.string(), roomName: z.string() }),
  timeline: z.array(AlertTimelineEntry),
}).meta({ id: 'AlertDetail' });
export type AlertDetail = z.infer<typeof AlertDetail>;

export const AlertQuery = PageQuery.extend({
  status: z.enum(ALERT_STATUSES).optional().describe('Default: every status but resolved.'),
  hospitalId: RecordId.optional(),
  unit: RecordId.optional().describe('A unit id.'),
});
export type AlertQuery = z.infer<typeof AlertQuery>;

export const AlertEvent = z
  .object({
    seq: z.number().describe('Increases by one per event in the organization.'),
    type: z.enum(ALERT_EVENT_TYPES),
    alert: Alert,
    at: z.date(),
  })
  .meta({ id: 'AlertEvent' });
export type AlertEvent = z.infer<typeof AlertEvent>;

export const AlertEventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe('The last seq the client has: events after it are listed.'),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .describe('The nextCursor of the previous page (overrides after).'),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});
export type AlertEventsQuery = z.infer<typeof AlertEventsQuery>;

const Delays = z
  .array(
    z
      .int()
      .min(1)
      .max(7 * 24 * 3600),
  )
  .min(1)
  .max(10)
  .describe('Seconds after the raise at which step i + 1 fires (the next tier; past the last tier, the last again).');

/** Urgency -> outside channels; in-app and the socket are always on. */
export const ChannelChoice = z
  .strictObject(
    Object.fromEntries(
      ['1', '2', '3', '4', '5'].map((urgency) => [urgency, z.array(z.enum(OUTSIDE_CHANNELS)).max(2).optional()]),
    ) as Record<'1' | '2' | '3' | '4' | '5', z.ZodOptional<z.ZodArray<z.ZodEnum<{ email: 'email'; push: 'push' }>>>>,
  )
  .describe('Per urgency ("1" to "5"), the outside channels (email, push) besides in-app and the socket.')
  .meta({ id: 'ChannelChoice' });

export const EscalationPolicy = z
  .strictObject({
    rules: z
      .array(z.strictObject({ urgency: z.int().min(1).max(5), delaysSeconds: Delays }))
      .max(5)
      .describe('Per urgency; an urgency not listed keeps the default.'),
    ackTimeoutSeconds: z
      .int()
      .min(1)
      .max(24 * 3600)
      .describe('An acknowledged alert not resolved within it escalates again.'),
    channels: ChannelChoice.nullable()
      .optional()
      .describe("The default for staff who have not chosen; null or absent: Wardline's default."),
    webhookUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .nullable()
      .optional()
      .describe('A Slack-compatible incoming webhook told of every alert and escalation (unit and room only).'),
  })
  .superRefine((policy, ctx) => {
    for (const problem of policyProblems(policy)) {
      ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path.split('.') });
    }
  })
  .meta({ id: 'EscalationPolicy' });
export type EscalationPolicyBody = z.infer<typeof EscalationPolicy>;

export const EscalationPolicyView = z
  .object({
    hospitalId: z.string(),
    rules: z.array(z.object({ urgency: z.number(), delaysSeconds: z.array(z.number()) })),
    ackTimeoutSeconds: z.number(),
    channels: z
      .record(z.string(), z.array(z.string()))
      .describe('The outside channels per urgency staff get unless they chose.'),
    webhook: z
      .object({ host: z.string() })
      .nullable()
      .describe('The webhook set, by host only: its path is often its secret, so it is never shown again.'),
    isDefault: z.boolean().describe('true: the hospital has not set its own.'),
    updatedAt: z.date().nullable(),
  })
  .meta({ id: 'EscalationPolicyView' });

export const Notification = z
  .object({
    id: z.string(),
    alertId: z.string(),
    kind: z.enum(['alert', 'escalation', 'ack-reminder', 'undelivered']),
    tier: z.number(),
    title: z.string(),
    body: z.string(),
    readAt: z.date().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof Notification>;

export const NotificationQuery = PageQuery.extend({
  unread: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
});

export const MarkRead = z
  .strictObject({
    ids: z.array(RecordId).min(1).max(100).optional().describe('The notifications to mark; none: all of yours.'),
  })
  .meta({ id: 'MarkNotificationsRead' });

export const NotificationPreferences = z
  .strictObject({ channels: ChannelChoice })
  .meta({ id: 'NotificationPreferences' });

export const NotificationPreferencesView = z
  .object({
    channels: z.record(z.string(), z.array(z.string())).describe('Your choice where you made one.'),
    effective: z
      .record(z.string(), z.record(z.string(), z.array(z.string())))
      .describe("Per hospital and urgency, what you get: yours, else the hospital's default."),
  })
  .meta({ id: 'NotificationPreferencesView' });

/** What the browser's PushSubscription.toJSON() gives. */
export const PushSubscriptionBody = z
  .object({
    endpoint: z.url({ protocol: /^https?$/ }).max(2000),
    expirationTime: z.number().nullable().optional(),
    keys: z.strictObject({
      p256dh: z.string().regex(/^[A-Za-z0-9_-]{20,200}={0,2}$/),
      auth: z.string().regex(/^[A-Za-z0-9_-]{8,100}={0,2}$/),
    }),
  })
  .meta({ id: 'PushSubscriptionBody' });

export const PushSubscriptionView = z
  .object({ id: z.string(), host: z.string(), createdAt: z.date() })
  .meta({ id: 'PushSubscription' });

export const AlertStatsQuery = z.object({
  hospitalId: RecordId.optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('Alerts raised from then (default: 30 days before to).'),
  to: z.iso.datetime({ offset: true }).optional().describe('Alerts raised up to then (default: now).'),
});

export const AlertStats = z
  .object({
    from: z.date(),
    to: z.date(),
    total: z.number(),
    byUnit: z.array(z.object({ unitId: z.string(), unitName: z.string(), urgency: z.number(), count: z.number() })),
    timeToAcknowledge: z.object({
      acknowledged: z.number().describe('Alerts acknowledged at least once.'),
      medianSeconds: z.number().nullable(),
      p90Seconds: z.number().nullable(),
    }),
    escalationRate: z.number().describe('The share of alerts that escalated at least once (0 to 1).'),
  })
  .meta({ id: 'AlertStats' });

export const CreateMaintenanceWindow = z
  .strictObject({
    startsAt: z.iso.datetime({ offset: true }),
    endsAt: z.iso
      .datetime({ offset: true })
      .describe('After startsAt and in the future; at most 7 days after startsAt.'),
    reason: plainText(1, 200).describe('e.g. "Nurse call system upgrade".'),
  })
  .meta({ id: 'CreateMaintenanceWindow' });
export type CreateMaintenanceWindow = z.infer<typeof CreateMaintenanceWindow>;

export const MaintenanceWindow = z
  .object({
    id: z.string(),
    unitId: z.string(),
    startsAt: z.date(),
    endsAt: z.date(),
    reason: z.string(),
    createdBy: z.string().nullable(),
    createdAt: z.date(),
  })
  .meta({ id: 'MaintenanceWindow' });
