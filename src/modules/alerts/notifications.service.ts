import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type NotificationRow, NotificationsRepository } from './notifications.repository.js';
import type { Notification } from './alerts.shapes.js';
import { type ChannelChoice, DEFAULT_CHANNELS } from './escalation-policy.js';

/** Push subscriptions one person may keep. */
export const MAX_SUBSCRIPTIONS = 10;

export const toNotification = (row: NotificationRow): Notification => ({
  id: row.id,
  alertId: row.alertId,
  kind: row.kind as Notification['kind'],
  tier: row.tier,
  title: row.title,
  body: row.body,
  readAt: row.readAt,
  createdAt: row.createdAt,
});

/** A browser's push subscription, as its PushSubscription.toJSON() gives it. */
export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface NotificationsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** The web push public key browsers subscribe with, or null when push is off (and why). */
  push: { publicKey: string | null; disabledReason?: string };
  /** Whether a push endpoint may be called (the same address rules as webhooks). */
  checkEndpoint(url: string): { ok: true } | { ok: false; reason: string };
}

/**
 * What each person has of alerts: their in-app notifications (unread count, mark read), their choice
 * of outside channels per urgency, and the browsers they get web push on. Everyone sees and changes
 * only their own.
 */
export class NotificationsService {
  constructor(private readonly deps: NotificationsDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** The caller's in-app notifications, newest first, and how many are unread. */
  list(ctx: TenantContext, query: { limit: number; cursor?: string; unread: boolean }) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(NotificationsRepository);
      const rows = await repo.notificationsOf(ctx.user.id, query.unread, query.limit, decodeCursor(query.cursor));
      const page = toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toNotification);
      const unread = await repo.unreadCount(ctx.user.id);
      work.audit({ action: 'notifications.list', resourceType: 'notification' });
      return { ...page, unread };
    });
  }

  /** Marks the caller's notifications read (the ids given, or all); others' ids change nothing. */
  markRead(ctx: TenantContext, ids: string[] | undefined) {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(NotificationsRepository);
      const marked = await repo.markRead(ctx.user.id, ids ?? null, this.deps.now());
      work.audit({ action: 'notifications.read', resourceType: 'notification' });
      return { marked, unread: await repo.unreadCount(ctx.user.id) };
    });
  }

  /** The caller's choice, and what they get in each hospital (theirs, else the hospital's, else the default). */
  preferences(ctx: TenantContext) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(NotificationsRepository);
      const mine = (await repo.preferencesOf([ctx.user.id])).get(ctx.user.id) ?? {};
      const hospitals = await repo.hospitalChannels();
      work.audit({ action: 'notification-preferences.read', resourceType: 'notification-preferences' });
      const effective = Object.fromEntries(
        hospitals.map((h) => [h.hospitalId, { ...DEFAULT_CHANNELS, ...h.channels, ...mine }]),
      );
      return { channels: mine, effective };
    });
  }

  savePreferences(ctx: TenantContext, channels: ChannelChoice) {
    return this.uow.write(ctx, async (work) => {
      await work.repo(NotificationsRepository).savePreferences(ctx.user.id, channels, this.deps.now());
      work.audit({ action: 'notification-preferences.update', resourceType: 'notification-preferences' });
    });
  }

  pushKey(): { publicKey: string | null; reason: string | null } {
    return { publicKey: this.deps.push.publicKey, reason: this.deps.push.disabledReason ?? null };
  }

  /** Keeps the caller's browser subscription (409 while push is off; 400 for an address push may not call). */
  subscribe(ctx: TenantContext, input: PushSubscriptionInput) {
    if (!this.deps.push.publicKey) {
      throw new AppError('CONFLICT', `web push is off on this server: ${this.deps.push.disabledReason ?? 'no keys'}`);
    }
    const check = this.deps.checkEndpoint(input.endpoint);
    if (!check.ok) {
      throw new AppError('VALIDATION_FAILED', 'the push endpoint is refused', [
        { path: 'body.endpoint', message: check.reason },
      ]);
    }
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(NotificationsRepository);
      // Every browser is pushed to on every alert, through one breaker for all: a person keeps a few.
      const mine = await repo.pushSubscriptionsOf(ctx.user.id);
      if (mine.length >= MAX_SUBSCRIPTIONS && !mine.some((s) => s.endpoint === input.endpoint)) {
        throw new AppError(
          'CONFLICT',
          `at most ${MAX_SUBSCRIPTIONS} browsers per person get push: remove one (DELETE .../push-subscriptions/:id) first`,
        );
      }
      const row = await repo.savePushSubscription(
        ctx.user.id,
        input.endpoint,
        input.keys.p256dh,
        input.keys.auth,
        this.deps.now(),
      );
      work.audit({ action: 'push-subscriptions.create', resourceType: 'push-subscription', resourceId: row.id });
      return toSubscription(row);
    });
  }

  subscriptions(ctx: TenantContext) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(NotificationsRepository).pushSubscriptionsOf(ctx.user.id);
      work.audit({ action: 'push-subscriptions.list', resourceType: 'push-subscription' });
      return { data: rows.map(toSubscription) };
    });
  }

  /** Removes one of the caller's subscriptions (another's id is a 404). */
  unsubscribe(ctx: TenantContext, id: string) {
    return this.uow.write(ctx, async (work) => {
      const removed = await work.repo(NotificationsRepository).deletePushSubscriptions([id], ctx.user.id);
      if (removed === 0) throw new AppError('NOT_FOUND', 'push subscription not found');
      work.audit({ action: 'push-subscriptions.delete', resourceType: 'push-subscription', resourceId: id });
    });
  }
}

/** A subscription as the API shows it: by host (the endpoint's path identifies the device). */
const toSubscription = (row: { id: string; endpoint: string; createdAt: Date }) => ({
  id: row.id,
  host: new URL(row.endpoint).host,
  createdAt: row.createdAt,
});
