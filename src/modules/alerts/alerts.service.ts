import type { Clock } from '../../platform/clock.js';
import { CountersRepository } from '../../platform/db/counters.js';
import { systemActing, type UnitOfWork, type Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { Broadcast } from '../../platform/realtime/broadcaster.js';
import type { LabResultCritical } from '../labs/lab-orders.service.js';
import type { AlertMessageInput } from './channels/message.js';
import { MaintenanceWindowsRepository } from './maintenance-windows.repository.js';
import { NotificationsRepository } from './notifications.repository.js';
import { toNotification } from './notifications.service.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  type AlertRow,
  type AlertChanges,
  AlertsRepository,
  type Location,
  type NewTimelineEntry,
  type PolicyRow,
} from './alerts.repository.js';
import type {
  Alert,
  AlertDetail,
  AlertEvent,
  AlertEventsQuery,
  AlertEventType,
  AlertQuery,
  EscalationPolicyBody,
  Notification,
  RaiseAlert,
} from './alerts.shapes.js';
import {
  DEFAULT_CHANNELS,
  DEFAULT_POLICY,
  freeze,
  nextStepAt,
  priorityOf,
  type Priority,
  resumeAt,
  TIER_ROLES,
  tierOfStep,
} from './escalation-policy.js';

declare module '../../platform/realtime/events.js' {
  interface ServerEvents {
    'alert:new': AlertEvent;
    'alert:updated': AlertEvent;
    'alert:escalated': AlertEvent;
    'alert:resolved': AlertEvent;
    /** To one person: they are told of an alert (the `seq` of the alert event that caused it). */
    'notification:new': { seq: number; notification: Notification };
  }
}

/** The organization counter alert events are numbered from. */
const EVENT_COUNTER = 'alert-event';
/** The longest a silence may last. */
const MAX_SILENCE_MS = 24 * 3600_000;

export type NotificationKind = Notification['kind'];

/** One person to tell, by the outside channels (email, push), after the in-app notification. */
export interface OutsideDelivery {
  alertId: string;
  userId: string;
  kind: NotificationKind;
  tier: number;
}

export interface AlertsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** Sockets of a hospital or of one person (app.realtime). */
  realtime: {
    toHospital(organizationId: string, hospitalId: string): Broadcast;
    toUser(organizationId: string, userId: string): Broadcast;
  };
  /** What a notification says: unit and room, never the patient (the same words go to push and email). */
  render(input: AlertMessageInput): { subject: string; body: string };
  /** Whether a webhook URL may be called (channels/webhook.ts checkWebhookUrl, with the server's settings). */
  checkWebhookUrl(url: string): { ok: true } | { ok: false; reason: string };
  /** Where the app shows an alert (put in notifications: no patient data travels, only the link). */
  linkTo(alertId: string): string;
  /**
   * Queues the outside deliveries (email, push, the hospital's webhook) in this work's transaction:
   * the alerts module's delivery jobs (alert-delivery.ts). None in tests that do not need them.
   */
  queueOutside?(work: Work, deliveries: OutsideDelivery[], alert: AlertRow): Promise<void>;
}

const toAlert = (row: AlertRow): Alert => ({
  id: row.id,
  hospitalId: row.hospitalId,
  unitId: row.unitId,
  roomId: row.roomId,
  patientId: row.patientId,
  type: row.type,
  urgency: row.urgency,
  priority: row.priority as Priority,
  description: row.description,
  status: row.status as Alert['status'],
  source: row.source as Alert['source'],
  raisedBy: row.raisedBy,
  raisedCount: row.raisedCount,
  lastRaisedAt: row.lastRaisedAt,
  tier: row.tier,
  step: row.step,
  nextEscalationAt: row.nextEscalationAt,
  acknowledgedAt: row.acknowledgedAt,
  acknowledgedBy: row.acknowledgedBy,
  silencedUntil: row.silencedUntil,
  resolvedAt: row.resolvedAt,
  resolvedBy: row.resolvedBy,
  resolution: row.resolution,
  policy: row.policy,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** An alert as JSON keeps it (the event feed): dates as ISO strings. */
const fromStored = (stored: Record<string, unknown>): Alert => {
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
  const alert = stored as unknown as Alert;
  return {
    ...alert,
    lastRaisedAt: date(stored.lastRaisedAt)!,
    nextEscalationAt: date(stored.nextEscalationAt),
    acknowledgedAt: date(stored.acknowledgedAt),
    silencedUntil: date(stored.silencedUntil),
    resolvedAt: date(stored.resolvedAt),
    createdAt: date(stored.createdAt)!,
    updatedAt: date(stored.updatedAt)!,
  };
};

const notFound = () => new AppError('NOT_FOUND', 'alert not found');

/** A policy as the API shows it: the webhook by host only (its path is often its secret). */
function policyView(hospitalId: string, row: PolicyRow | undefined) {
  return {
    hospitalId,
    rules: row?.rules ?? DEFAULT_POLICY.rules,
    ackTimeoutSeconds: row?.ackTimeoutSeconds ?? DEFAULT_POLICY.ackTimeoutSeconds,
    channels: { ...DEFAULT_CHANNELS, ...row?.channels },
    webhook: row?.webhookUrl ? { host: new URL(row.webhookUrl).host } : null,
    isDefault: row === undefined,
    updatedAt: row?.updatedAt ?? null,
  };
}

/** A timer found not due (any more) when claimed: the firing is abandoned, not an error. */
class StaleTimer extends Error {}

/** The changes a response to an alert makes, and how its timeline and event feed record them. */
interface Response {
  changes: AlertChanges;
  timeline: string;
  detail?: Record<string, unknown>;
  event: AlertEventType;
}

/**
 * Clinical alerts: raising (with deduplication), acknowledging, silencing, resolving, the escalation
 * steps the engine fires, who is notified and how, and the numbered event feed real-time clients
 * resynchronise from. Every change is one transaction with its timeline rows, its event, its in-app
 * notifications, its queued outside deliveries and its audit event; sockets hear of it after commit.
 */
export class AlertsService {
  constructor(private readonly deps: AlertsDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** Raises an alert, or counts a repeat on the open alert of the same room and type (then `created` is false). */
  raise(ctx: TenantContext, input: RaiseAlert): Promise<{ alert: Alert; created: boolean }> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      const location = await repo.location(input.hospitalId, input.unitId, input.roomId);
      if (!location) {
        throw new AppError('NOT_FOUND', 'room not found in that unit and hospital', [
          { path: 'body.roomId', message: 'is not a room of unitId in hospitalId' },
        ]);
      }
      if (!location.active) throw new AppError('CONFLICT', 'the room, its unit or its hospital is deactivated');
      if (input.patientId) await this.checkPatient(repo, input.patientId, input.patientMrn!);
      const { row, created } = await this.raiseIn(work, repo, location, {
        ...input,
        source: ctx.apiKeyId ? 'api-key' : 'user',
        raisedBy: ctx.user.id,
      });
      return { alert: toAlert(row), created };
    });
    return write.catch((error: unknown) => {
      const { code } = databaseError(error);
      if (code === '23503') throw new AppError('NOT_FOUND', 'patient not found');
      throw error;
    });
  }

  /**
   * Turns a critical lab result (the labs module's `lab.result.critical` outbox message) into an
   * urgency-5 `critical-lab` alert in the room where the patient is seen: the room of the appointment
   * the order's encounter was opened from. Without one, no room is known, and an alert is for a room:
   * the order's timeline says so (the result stays on the dashboard's critical results). Safe to run
   * twice: a second delivery counts as a repeat of the open alert.
   */
  raiseForCriticalLab(message: LabResultCritical): Promise<{ alertId: string | null }> {
    return this.uow.write(systemActing(message.organizationId), async (work) => {
      const repo = work.repo(AlertsRepository);
      const at = this.deps.now();
      const place = await repo.whereOrderIsSeen(message.orderId);
      const location = place && (await repo.location(place.hospitalId, place.unitId, place.roomId));
      if (!location || !location.active) {
        const reason = location
          ? 'the room, its unit or its hospital is deactivated'
          : 'no room is known for the order';
        await repo.noteOnLabOrder(message.orderId, 'alert-not-raised', { reason }, at);
        work.audit({
          action: 'alerts.raise',
          resourceType: 'lab-order',
          resourceId: message.orderId,
          outcome: 'failed',
        });
        return { alertId: null };
      }
      const { row, created } = await this.raiseIn(work, repo, location, {
        hospitalId: location.hospitalId,
        unitId: location.unitId,
        roomId: location.roomId,
        type: 'critical-lab',
        urgency: 5,
        description: 'Critical lab result: review it in the lab order',
        patientId: message.patientId,
        source: 'system',
        raisedBy: null,
        origin: { labOrderId: message.orderId, flag: message.flag },
      });
      await repo.noteOnLabOrder(message.orderId, created ? 'alert-raised' : 'alert-repeated', { alertId: row.id }, at);
      return { alertId: row.id };
    });
  }

  /** The raise itself, in a write: a new alert (told to tier 1) or a repeat counted on the open one. */
  private async raiseIn(
    work: Work,
    repo: AlertsRepository,
    location: Location,
    input: Omit<RaiseAlert, 'patientMrn'> & {
      source: Alert['source'];
      raisedBy: string | null;
      origin?: Record<string, string>;
    },
  ): Promise<{ row: AlertRow; created: boolean }> {
    const at = this.deps.now();
    const stored = await repo.policyOf(input.hospitalId);
    const policy = freeze(stored ?? DEFAULT_POLICY, input.urgency);
    const { row, created } = await repo.raise(
      {
        hospitalId: input.hospitalId,
        unitId: input.unitId,
        roomId: input.roomId,
        patientId: input.patientId ?? null,
        type: input.type,
        urgency: input.urgency,
        priority: priorityOf(input.urgency),
        description: input.description ?? null,
        status: 'active',
        source: input.source,
        raisedBy: input.raisedBy,
        lastRaisedAt: at,
        policy,
        tier: 1,
        step: 0,
        nextEscalationAt: nextStepAt(policy, at, 0),
        createdAt: at,
        updatedAt: at,
      },
      at,
    );
    work.audit({
      action: created ? 'alerts.raise' : 'alerts.repeat',
      resourceType: 'alert',
      resourceId: row.id,
      patientId: row.patientId,
    });
    if (!created) {
      await repo.appendTimeline([
        {
          alertId: row.id,
          type: 'repeated',
          actorId: input.raisedBy,
          detail: { raisedCount: row.raisedCount, patientId: input.patientId ?? null, ...input.origin },
          at,
        },
      ]);
      await this.emit(work, repo, 'alert:updated', row, at);
      return { row, created };
    }
    await repo.appendTimeline([
      {
        alertId: row.id,
        type: 'raised',
        actorId: input.raisedBy,
        detail: { urgency: row.urgency, type: row.type, source: row.source, policy, ...input.origin },
        at,
      },
    ]);
    const seq = await this.emit(work, repo, 'alert:new', row, at);
    await this.notify(work, repo, row, location, 'alert', 1, seq, at);
    return { row, created };
  }

  /** One alert with its location and timeline; audited with its patient. */
  get(ctx: TenantContext, id: string): Promise<AlertDetail> {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      const row = await repo.find(id);
      if (!row) throw notFound();
      const location = (await repo.location(row.hospitalId, row.unitId, row.roomId))!;
      const timeline = await repo.timelineOf(id);
      work.audit({ action: 'alerts.read', resourceType: 'alert', resourceId: id, patientId: row.patientId });
      return {
        ...toAlert(row),
        location: { hospitalName: location.hospitalName, unitName: location.unitName, roomName: location.roomName },
        timeline: timeline.map((entry) => ({
          id: entry.id,
          type: entry.type,
          actorId: entry.actorId,
          detail: entry.detail ?? null,
          at: entry.createdAt,
        })),
      };
    });
  }

  /** Alerts, newest first (open ones unless a status is asked for). */
  list(ctx: TenantContext, query: AlertQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(AlertsRepository)
        .list(
          { status: query.status, hospitalId: query.hospitalId, unitId: query.unit },
          query.limit,
          decodeCursor(query.cursor),
        );
      const page = toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toAlert);
      for (const alert of page.data.filter((a) => a.patientId)) {
        work.audit({ action: 'alerts.list', resourceType: 'alert', resourceId: alert.id, patientId: alert.patientId });
      }
      if (!page.data.some((a) => a.patientId)) work.audit({ action: 'alerts.list', resourceType: 'alert' });
      return page;
    });
  }

  /** Alert analytics for managers over a window (default: the last 30 days). */
  stats(ctx: TenantContext, query: { hospitalId?: string; from?: string; to?: string }) {
    return this.uow.read(ctx, async (work) => {
      const to = query.to ? new Date(query.to) : this.deps.now();
      const from = query.from ? new Date(query.from) : new Date(to.getTime() - 30 * 86_400_000);
      if (from >= to) {
        throw new AppError('VALIDATION_FAILED', 'the window is empty', [
          { path: 'query.from', message: 'must be before to' },
        ]);
      }
      const row = await work.repo(AlertsRepository).stats(from, to, query.hospitalId ?? null);
      work.audit({ action: 'alerts.stats', resourceType: 'alert' });
      const round = (value: number | null) => (value === null ? null : Math.round(Number(value) * 10) / 10);
      return {
        from,
        to,
        total: row.total,
        byUnit: row.byUnit,
        timeToAcknowledge: {
          acknowledged: row.acknowledged,
          medianSeconds: round(row.medianSeconds),
          p90Seconds: round(row.p90Seconds),
        },
        escalationRate: row.total === 0 ? 0 : Math.round((row.escalated / row.total) * 1000) / 1000,
      };
    });
  }

  /** Open alerts of the organization or one hospital, for the dashboard (a count: nothing to audit). */
  countActive(ctx: TenantContext, hospitalId: string | null): Promise<number> {
    return this.uow.read(ctx, (work) => work.repo(AlertsRepository).countOpen(hospitalId));
  }

  /** The events after `after` (or the cursor), oldest first: what a reconnecting client missed. */
  events(ctx: TenantContext, query: AlertEventsQuery) {
    return this.uow.read(ctx, async (work) => {
      const after = query.cursor === undefined ? query.after : Number(query.cursor);
      const rows = await work.repo(AlertsRepository).eventsAfter(after, query.limit);
      const more = rows.length > query.limit;
      const data: AlertEvent[] = rows.slice(0, query.limit).map((row) => ({
        seq: row.seq,
        type: row.type as AlertEventType,
        alert: fromStored(row.alert),
        at: row.createdAt,
      }));
      work.audit({ action: 'alerts.events', resourceType: 'alert' });
      return { data, nextCursor: more ? String(data.at(-1)!.seq) : null };
    });
  }

  /** Someone takes it: escalation stops until the acknowledgement times out. Idempotent. */
  acknowledge(ctx: TenantContext, id: string) {
    return this.respond(ctx, id, 'acknowledge', (row, at) => {
      if (row.status === 'acknowledged') return null;
      if (row.status === 'resolved') throw new AppError('CONFLICT', 'the alert is resolved');
      return {
        changes: {
          status: 'acknowledged',
          acknowledgedAt: at,
          acknowledgedBy: ctx.user.id,
          silencedUntil: null,
          nextEscalationAt: new Date(at.getTime() + row.policy.ackTimeoutSeconds * 1000),
        },
        timeline: 'acknowledged',
        event: 'alert:updated',
      };
    });
  }

  /** Gives it back: it is active again and its escalation resumes. Idempotent. */
  unacknowledge(ctx: TenantContext, id: string) {
    return this.respond(ctx, id, 'unacknowledge', (row, at) => {
      if (row.status === 'active') return null;
      if (row.status !== 'acknowledged') throw new AppError('CONFLICT', `the alert is ${row.status}, not acknowledged`);
      return {
        changes: {
          status: 'active',
          acknowledgedAt: null,
          acknowledgedBy: null,
          nextEscalationAt: resumeAt(row.policy, row.createdAt, row.step, at),
        },
        timeline: 'unacknowledged',
        event: 'alert:updated',
      };
    });
  }

  /** No notifications and no escalation until `until`; then it is active again. */
  silence(ctx: TenantContext, id: string, untilText: string) {
    return this.respond(ctx, id, 'silence', (row, at) => {
      const until = new Date(untilText);
      if (until <= at || until.getTime() - at.getTime() > MAX_SILENCE_MS) {
        throw new AppError('VALIDATION_FAILED', 'a silence ends in the future, within 24 hours', [
          { path: 'body.until', message: 'must be in the next 24 hours' },
        ]);
      }
      if (row.status === 'resolved') throw new AppError('CONFLICT', 'the alert is resolved');
      if (row.status === 'silenced' && row.silencedUntil?.getTime() === until.getTime()) return null;
      return {
        changes: {
          status: 'silenced',
          silencedUntil: until,
          nextEscalationAt: until,
          acknowledgedAt: null,
          acknowledgedBy: null,
        },
        timeline: 'silenced',
        detail: { until: until.toISOString() },
        event: 'alert:updated',
      };
    });
  }

  /** Closes it: nothing more is timed or sent. Idempotent (a second resolve changes nothing). */
  resolve(ctx: TenantContext, id: string, resolution: string) {
    return this.respond(ctx, id, 'resolve', (row, at) => {
      if (row.status === 'resolved') return null;
      return {
        changes: { status: 'resolved', resolvedAt: at, resolvedBy: ctx.user.id, resolution, nextEscalationAt: null },
        timeline: 'resolved',
        event: 'alert:resolved',
      };
    });
  }

  private respond(
    ctx: TenantContext,
    id: string,
    action: string,
    decide: (row: AlertRow, at: Date) => Response | null,
  ): Promise<Alert> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      const row = await repo.lock(id);
      if (!row) throw notFound();
      const at = this.deps.now();
      const response = decide(row, at);
      work.audit({ action: `alerts.${action}`, resourceType: 'alert', resourceId: id, patientId: row.patientId });
      if (!response) return toAlert(row);
      const updated = await repo.update(id, { ...response.changes, updatedAt: at });
      await repo.appendTimeline([
        { alertId: id, type: response.timeline, actorId: ctx.user.id, detail: response.detail, at },
      ]);
      await this.emit(work, repo, response.event, updated, at);
      return toAlert(updated);
    });
  }

  /**
   * Fires the alert's due timer, if it is still due and no other process holds it: the next
   * escalation step, the end of a silence, or an acknowledgement that timed out. Returns how late it
   * fired (ms), or null when there was nothing to do (a stale or already-fired timer).
   */
  fire(organizationId: string, id: string): Promise<number | null> {
    const write = this.uow.write(systemActing(organizationId), async (work) => {
      const repo = work.repo(AlertsRepository);
      const at = this.deps.now();
      const row = await repo.claimDue(id, at);
      // Another process holds it, or it is not due any more: nothing happened, so nothing commits.
      if (!row || !row.nextEscalationAt) throw new StaleTimer();
      const lateMs = at.getTime() - row.nextEscalationAt.getTime();
      const location = (await repo.location(row.hospitalId, row.unitId, row.roomId))!;
      work.audit({ action: 'alerts.escalate', resourceType: 'alert', resourceId: id, patientId: row.patientId });
      if (row.status === 'resolved') {
        await repo.update(id, { nextEscalationAt: null, updatedAt: at });
        return null;
      }
      // A maintenance window holds the schedule (it does not use it up unheard): the step waits for its end.
      const window = await work.repo(MaintenanceWindowsRepository).openWindow(row.unitId, at);
      if (window) {
        await repo.update(id, { nextEscalationAt: window.endsAt, updatedAt: at });
        await repo.appendTimeline([
          {
            alertId: id,
            type: 'postponed',
            actorId: null,
            detail: { reason: 'maintenance window', windowId: window.id, until: window.endsAt.toISOString() },
            at,
          },
        ]);
        return null;
      }
      if (row.status === 'silenced') {
        // The silence is over: active again, the current tier is told again, and the schedule resumes.
        const updated = await repo.update(id, {
          status: 'active',
          silencedUntil: null,
          nextEscalationAt: resumeAt(row.policy, row.createdAt, row.step, at),
          updatedAt: at,
        });
        await repo.appendTimeline([{ alertId: id, type: 'silence-ended', actorId: null, detail: { lateMs }, at }]);
        const seq = await this.emit(work, repo, 'alert:updated', updated, at);
        await this.notify(work, repo, updated, location, 'alert', updated.tier, seq, at);
        return lateMs;
      }
      const step = row.step + 1;
      const tier = Math.max(row.tier, tierOfStep(step));
      const timedOut = row.status === 'acknowledged';
      const updated = await repo.update(id, {
        status: 'active',
        step,
        tier,
        acknowledgedAt: null,
        acknowledgedBy: null,
        // Never sooner than the step's own interval: after an outage (or an acknowledgement that timed
        // out) the missed steps do not page every tier in one burst.
        nextEscalationAt: resumeAt(row.policy, row.createdAt, step, at),
        updatedAt: at,
      });
      const entries: NewTimelineEntry[] = [];
      if (timedOut) {
        entries.push({
          alertId: id,
          type: 'ack-timeout',
          actorId: null,
          detail: { acknowledgedBy: row.acknowledgedBy, ackTimeoutSeconds: row.policy.ackTimeoutSeconds },
          at,
        });
      }
      entries.push({ alertId: id, type: 'escalated', actorId: null, detail: { step, tier, lateMs }, at });
      await repo.appendTimeline(entries);
      const seq = await this.emit(work, repo, 'alert:escalated', updated, at);
      if (timedOut && row.acknowledgedBy) {
        await this.tell(work, repo, updated, location, 'ack-reminder', tier, seq, at, [row.acknowledgedBy]);
      }
      await this.notify(work, repo, updated, location, 'escalation', tier, seq, at);
      return lateMs;
    });
    return write.catch((error: unknown) => {
      if (error instanceof StaleTimer) return null;
      throw error;
    });
  }

  /** The hospital's escalation policy (the default if it has none). */
  policy(ctx: TenantContext, hospitalId: string) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      await this.checkHospital(repo, hospitalId);
      const row = await repo.policyOf(hospitalId);
      work.audit({ action: 'escalation-policies.read', resourceType: 'hospital', resourceId: hospitalId });
      return policyView(hospitalId, row);
    });
  }

  /** Sets the hospital's policy for alerts raised from now on (running alerts keep theirs). */
  savePolicy(ctx: TenantContext, hospitalId: string, body: EscalationPolicyBody) {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      await this.checkHospital(repo, hospitalId);
      const current = await repo.policyOf(hospitalId);
      if (body.webhookUrl) {
        const check = this.deps.checkWebhookUrl(body.webhookUrl);
        if (!check.ok) {
          throw new AppError('VALIDATION_FAILED', 'the webhook URL is refused', [
            { path: 'body.webhookUrl', message: check.reason },
          ]);
        }
      }
      const at = this.deps.now();
      const row = await repo.savePolicy(
        hospitalId,
        {
          rules: [...body.rules].sort((a, b) => b.urgency - a.urgency),
          ackTimeoutSeconds: body.ackTimeoutSeconds,
          // Absent: unchanged (the API never shows the URL back, so a read-modify-write must keep it); null: removed.
          channels: body.channels === undefined ? (current?.channels ?? null) : body.channels,
          webhookUrl: body.webhookUrl === undefined ? (current?.webhookUrl ?? null) : body.webhookUrl,
        },
        ctx.user.id,
        at,
      );
      work.audit({ action: 'escalation-policies.update', resourceType: 'hospital', resourceId: hospitalId });
      return policyView(hospitalId, row);
    });
  }

  /** Numbers the event, keeps it in the feed, and broadcasts it to the hospital after commit. */
  private async emit(work: Work, repo: AlertsRepository, type: AlertEventType, row: AlertRow, at: Date) {
    const seq = await work.repo(CountersRepository).next(EVENT_COUNTER);
    const alert = toAlert(row);
    await repo.appendEvent({
      seq,
      type,
      alertId: row.id,
      hospitalId: row.hospitalId,
      alert: JSON.parse(JSON.stringify(alert)) as Record<string, unknown>,
      createdAt: at,
      updatedAt: at,
    });
    const { organizationId } = work.ctx;
    work.afterCommit(async () =>
      this.deps.realtime
        .toHospital(organizationId, row.hospitalId)
        .withPermission('alerts:read')
        .emit(type, { seq, type, alert, at }),
    );
    return seq;
  }

  /**
   * Tells the tier: everyone on duty in its roles. Nobody on duty is itself an alert, to every
   * manager: silence is never how this fails.
   */
  private async notify(
    work: Work,
    repo: AlertsRepository,
    row: AlertRow,
    location: Location,
    kind: NotificationKind,
    tier: number,
    seq: number,
    at: Date,
  ) {
    if (await this.suppressed(work, repo, row, kind, tier, at)) return;
    const recipients = await repo.recipients(row.hospitalId, row.unitId, TIER_ROLES[tier as 1 | 2 | 3]);
    if (recipients.length > 0) {
      await this.tell(
        work,
        repo,
        row,
        location,
        kind,
        tier,
        seq,
        at,
        recipients.map((r) => r.userId),
      );
      return;
    }
    const managers = await repo.managers();
    await repo.appendTimeline([
      {
        alertId: row.id,
        type: 'undelivered',
        actorId: null,
        detail: { tier, reason: 'nobody on duty for the tier', managersTold: managers.length },
        at,
      },
    ]);
    await this.tell(
      work,
      repo,
      row,
      location,
      'undelivered',
      tier,
      seq,
      at,
      managers.map((m) => m.userId),
    );
  }

  /** In-app notifications (stored, and pushed to their sockets after commit), then the outside channels. */
  private async tell(
    work: Work,
    repo: AlertsRepository,
    row: AlertRow,
    location: Location,
    kind: NotificationKind,
    tier: number,
    seq: number,
    at: Date,
    userIds: string[],
  ) {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return;
    if (kind === 'ack-reminder' && (await this.suppressed(work, repo, row, kind, tier, at))) return;
    const message = this.deps.render({
      kind,
      priority: row.priority as Priority,
      type: row.type,
      hospitalName: location.hospitalName,
      unitName: location.unitName,
      roomName: location.roomName,
      tier,
      link: this.deps.linkTo(row.id),
    });
    const stored = await work.repo(NotificationsRepository).insertNotifications(
      unique.map((userId) => ({
        userId,
        alertId: row.id,
        kind,
        tier,
        title: message.subject,
        body: message.body,
        createdAt: at,
        updatedAt: at,
      })),
    );
    await repo.appendTimeline(
      stored.map((n) => ({
        alertId: row.id,
        type: 'notified',
        actorId: null,
        detail: { userId: n.userId, channel: 'in-app', kind, tier, result: 'sent' },
        at,
      })),
    );
    const { organizationId } = work.ctx;
    work.afterCommit(async () => {
      for (const n of stored) {
        this.deps.realtime
          .toUser(organizationId, n.userId)
          .emit('notification:new', { seq, notification: toNotification(n) });
      }
    });
    await this.deps.queueOutside?.(
      work,
      unique.map((userId) => ({ alertId: row.id, userId, kind, tier })),
      row,
    );
  }

  /** Whether a maintenance window of the unit is open: then nobody is told, and the timeline says why. */
  private async suppressed(
    work: Work,
    repo: AlertsRepository,
    row: AlertRow,
    kind: NotificationKind,
    tier: number,
    at: Date,
  ) {
    const window = await work.repo(MaintenanceWindowsRepository).openWindow(row.unitId, at);
    if (!window) return false;
    await repo.appendTimeline([
      {
        alertId: row.id,
        type: 'suppressed',
        actorId: null,
        detail: { reason: 'maintenance window', windowId: window.id, until: window.endsAt.toISOString(), kind, tier },
        at,
      },
    ]);
    return true;
  }

  /** The second identifier must match: an alert never names a patient on one id alone. */
  private async checkPatient(repo: AlertsRepository, patientId: string, mrn: string) {
    const patientMrn = await repo.patientMrn(patientId);
    if (patientMrn === undefined) {
      throw new AppError('NOT_FOUND', 'patient not found', [{ path: 'body.patientId', message: 'no such patient' }]);
    }
    if (patientMrn !== mrn) {
      throw new AppError('VALIDATION_FAILED', 'the patient identifiers do not match', [
        { path: 'body.patientMrn', message: 'is not the MRN of patientId' },
      ]);
    }
  }

  private async checkHospital(repo: AlertsRepository, hospitalId: string) {
    if (!(await repo.hospitalExists(hospitalId))) throw new AppError('NOT_FOUND', 'hospital not found');
  }
}
