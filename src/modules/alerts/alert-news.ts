import { CountersRepository } from '../../platform/db/counters.js';
import type { Work } from '../../platform/db/unit-of-work.js';
import type { Broadcast } from '../../platform/realtime/broadcaster.js';
import { AlertNewsRepository, type NewTimelineEntry, type OnDuty } from './alert-news.repository.js';
import type { AlertRow, Location } from './alerts.repository.js';
import type { Alert, AlertEvent, AlertEventType, Notification } from './alerts.shapes.js';
import type { AlertMessageInput } from './channels/message.js';
import { type Priority, TIER_ROLES } from './escalation-policy.js';
import { MaintenanceWindowsRepository } from './maintenance-windows.repository.js';
import { NotificationsRepository } from './notifications.repository.js';
import { toNotification } from './notifications.service.js';

declare module '../../platform/realtime/events.js' {
  interface ServerEvents {
    'alert:new': AlertEvent;
    'alert:updated': AlertEvent;
    'alert:escalated': AlertEvent;
    'alert:resolved': AlertEvent;
    /** To one person: they are told of an alert (the `seq` of the alert event that caused it, 0 if none did). */
    'notification:new': { seq: number; notification: Notification };
  }
}

export type NotificationKind = Notification['kind'];

/** One person to tell, by the outside channels (email, push), after the in-app notification. */
export interface OutsideDelivery {
  alertId: string;
  userId: string;
  kind: NotificationKind;
  tier: number;
}

export interface AlertNewsDependencies {
  /** Sockets of a hospital or of one person (app.realtime). */
  realtime: {
    toHospital(organizationId: string, hospitalId: string): Broadcast;
    toUser(organizationId: string, userId: string): Broadcast;
  };
  /** What a notification says: unit and room, never the patient (the same words go to push and email). */
  render(input: AlertMessageInput): { subject: string; body: string };
  /** Where the app shows an alert (put in notifications: no patient data travels, only the link). */
  linkTo(alertId: string): string;
  /**
   * Queues the outside deliveries (email, push, each hospital's webhook) in this work's transaction
   * and answers the timeline rows that say so: the delivery jobs of alert-delivery.ts. None in tests
   * that do not need them.
   */
  queueOutside?(
    work: Work,
    deliveries: OutsideDelivery[],
    alerts: Map<string, AlertRow>,
    at: Date,
  ): Promise<NewTimelineEntry[]>;
}

/** The organization counter alert events are numbered from. */
export const EVENT_COUNTER = 'alert-event';

export const toAlert = (row: AlertRow): Alert => ({
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
export const fromStored = (stored: Record<string, unknown>): Alert => {
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

/** A tier to tell (who is on duty in it is found at the end), or the people given. */
interface Telling {
  row: AlertRow;
  location: Location;
  kind: NotificationKind;
  tier: number;
  userIds: string[] | null;
}

type Window = { id: string; endsAt: Date };

const gathered = new WeakMap<Work, AlertNews>();

/**
 * What a write of alerts tells and records besides the alerts themselves: timeline rows, numbered
 * events (broadcast to the hospital after commit), in-app notifications (pushed to their people's
 * sockets after commit) and queued outside deliveries. Gathered while the write runs, and written at
 * its end in a few statements whatever the number of alerts, so that the escalation engine fires a
 * batch of alerts in one short transaction. The events are numbered last: their counter row stays
 * locked until the commit, so it is held for one statement, and events commit in the order of
 * their numbers (a client reading the feed after `seq` never misses one that commits later).
 */
export class AlertNews {
  /** The news of this write (made on first use, and written before it commits). */
  static of(work: Work, deps: AlertNewsDependencies, at: Date): AlertNews {
    let news = gathered.get(work);
    if (!news) {
      const created = new AlertNews(work, deps, at);
      gathered.set(work, created);
      work.beforeCommit(() => created.flush());
      news = created;
    }
    return news;
  }

  private readonly timeline: NewTimelineEntry[] = [];
  private readonly events: { type: AlertEventType; row: AlertRow }[] = [];
  private readonly tellings: Telling[] = [];
  private readonly windows = new Map<string, Window | null>();

  private constructor(
    private readonly work: Work,
    private readonly deps: AlertNewsDependencies,
    /** When it happens: every row and event of the write carries it. */
    readonly at: Date,
  ) {}

  /** A row on the alert's timeline (an alert's rows keep the order they are noted in). */
  note(alertId: string, type: string, actorId: string | null, detail?: object): void {
    this.timeline.push({ alertId, type, actorId, detail, at: this.at });
  }

  /** An event of the alert as it now is: numbered and kept in the feed, and broadcast after commit. */
  event(type: AlertEventType, row: AlertRow): void {
    this.events.push({ type, row });
  }

  /**
   * Tells the tier: everyone on duty in its roles. Nobody on duty is itself an alert, to every
   * manager, and the timeline says so: silence is never how this fails. Nobody is told while a
   * maintenance window of the unit is open (the timeline says that too).
   */
  notify(row: AlertRow, location: Location, kind: NotificationKind, tier: number): void {
    this.tellings.push({ row, location, kind, tier, userIds: null });
  }

  /** Tells these people (an acknowledgement reminder to who acknowledged), unless a window is open. */
  tell(row: AlertRow, location: Location, kind: NotificationKind, tier: number, userIds: string[]): void {
    if (userIds.length > 0) this.tellings.push({ row, location, kind, tier, userIds });
  }

  /** The maintenance windows open now in these units (those that have one), looked up once per write. */
  async openWindows(unitIds: string[]): Promise<Map<string, Window>> {
    const missing = [...new Set(unitIds)].filter((id) => !this.windows.has(id));
    if (missing.length > 0) {
      const found = await this.work.repo(MaintenanceWindowsRepository).openWindows(missing, this.at);
      for (const id of missing) this.windows.set(id, found.get(id) ?? null);
    }
    const open = new Map<string, Window>();
    for (const id of unitIds) {
      const window = this.windows.get(id);
      if (window) open.set(id, window);
    }
    return open;
  }

  /** Writes what was gathered (run by the unit of work before the write commits). */
  private async flush(): Promise<void> {
    const told = await this.whoIsTold(this.tellings.splice(0));
    const notified = await this.inApp(told);
    const outside = this.deps.queueOutside
      ? await this.deps.queueOutside(
          this.work,
          told.flatMap((t) => t.userIds.map((userId) => ({ alertId: t.row.id, userId, kind: t.kind, tier: t.tier }))),
          new Map(told.map((t) => [t.row.id, t.row])),
          this.at,
        )
      : [];
    const news = this.work.repo(AlertNewsRepository);
    await news.appendTimeline([...this.timeline.splice(0), ...outside]);
    // Numbered last, just before the commit (see the class comment).
    const events = this.events.splice(0);
    const first = events.length > 0 ? await this.work.repo(CountersRepository).take(EVENT_COUNTER, events.length) : 0;
    const numbered = events.map((e, i) => ({ ...e, seq: first + i, alert: toAlert(e.row) }));
    await news.appendEvents(
      numbered.map((e) => ({
        seq: e.seq,
        type: e.type,
        alertId: e.row.id,
        hospitalId: e.row.hospitalId,
        alert: JSON.parse(JSON.stringify(e.alert)) as Record<string, unknown>,
        createdAt: this.at,
        updatedAt: this.at,
      })),
    );
    if (numbered.length === 0 && notified.length === 0) return;
    // A notification carries the seq of its alert's event in this write (0: the write had none).
    const seqOf = new Map(numbered.map((e) => [e.row.id, e.seq]));
    const { organizationId } = this.work.ctx;
    const at = this.at;
    this.work.afterCommit(async () => {
      for (const e of numbered) {
        this.deps.realtime
          .toHospital(organizationId, e.row.hospitalId)
          .withPermission('alerts:read')
          .emit(e.type, { seq: e.seq, type: e.type, alert: e.alert, at });
      }
      for (const n of notified) {
        this.deps.realtime
          .toUser(organizationId, n.userId)
          .emit('notification:new', { seq: seqOf.get(n.alertId) ?? 0, notification: toNotification(n) });
      }
    });
  }

  /**
   * Who each telling reaches: nobody in a maintenance window; the people given; else the tier's roles
   * on duty (managers: on duty in the hospital, else every manager); else every manager, as
   * `undelivered`. One query for the roster of every unit concerned, one for the managers if needed.
   */
  private async whoIsTold(tellings: Telling[]): Promise<(Telling & { userIds: string[] })[]> {
    if (tellings.length === 0) return [];
    const open = await this.openWindows(tellings.map((t) => t.row.unitId));
    const heard = tellings.filter((t) => {
      const window = open.get(t.row.unitId);
      if (!window) return true;
      this.note(t.row.id, 'suppressed', null, {
        reason: 'maintenance window',
        windowId: window.id,
        until: window.endsAt.toISOString(),
        kind: t.kind,
        tier: t.tier,
      });
      return false;
    });
    const news = this.work.repo(AlertNewsRepository);
    const toFind = heard.filter((t) => t.userIds === null);
    const roster =
      toFind.length > 0
        ? await news.onDuty(
            toFind.map((t) => t.row.hospitalId),
            toFind.map((t) => t.row.unitId),
          )
        : [];
    let managers: string[] | undefined;
    const told: (Telling & { userIds: string[] })[] = [];
    for (const t of heard) {
      if (t.userIds) {
        told.push({ ...t, userIds: [...new Set(t.userIds)] });
        continue;
      }
      const roles = TIER_ROLES[t.tier as 1 | 2 | 3];
      let userIds = roster.filter((d) => roles.includes(d.role) && onDutyFor(d, t.row)).map((d) => d.userId);
      if (roles.includes('manager') && !roster.some((d) => d.role === 'manager' && onDutyFor(d, t.row))) {
        managers ??= await news.managers();
        userIds.push(...managers);
      }
      userIds = [...new Set(userIds)];
      if (userIds.length > 0) {
        told.push({ ...t, userIds });
        continue;
      }
      managers ??= await news.managers();
      this.note(t.row.id, 'undelivered', null, {
        tier: t.tier,
        reason: 'nobody on duty for the tier',
        managersTold: managers.length,
      });
      if (managers.length > 0) told.push({ ...t, kind: 'undelivered', userIds: managers });
    }
    return told;
  }

  /** The in-app notifications, in one insert, each noted on its alert's timeline. */
  private async inApp(told: (Telling & { userIds: string[] })[]) {
    const rows = told.flatMap((t) => {
      const message = this.deps.render({
        kind: t.kind,
        priority: t.row.priority as Priority,
        type: t.row.type,
        hospitalName: t.location.hospitalName,
        unitName: t.location.unitName,
        roomName: t.location.roomName,
        tier: t.tier,
        link: this.deps.linkTo(t.row.id),
      });
      return t.userIds.map((userId) => ({
        userId,
        alertId: t.row.id,
        kind: t.kind,
        tier: t.tier,
        title: message.subject,
        body: message.body,
        createdAt: this.at,
        updatedAt: this.at,
      }));
    });
    const stored = await this.work.repo(NotificationsRepository).insertNotifications(rows);
    for (const n of stored) {
      this.note(n.alertId, 'notified', null, {
        userId: n.userId,
        channel: 'in-app',
        kind: n.kind,
        tier: n.tier,
        result: 'sent',
      });
    }
    return stored;
  }
}

/** Whether someone on duty is where the alert is: nurses and doctors in its unit, managers in its hospital. */
function onDutyFor(person: OnDuty, alert: AlertRow): boolean {
  return person.role === 'manager' ? person.hospitalId === alert.hospitalId : person.unitId === alert.unitId;
}
