import type { Clock } from '../../platform/clock.js';
import { type ActingContext, type UnitOfWork, type Work } from '../../platform/db/unit-of-work.js';
import type { JobRun, QueueOptions } from '../../platform/jobs/job-map.js';
import { type AlertRow, AlertsRepository } from './alerts.repository.js';
import { NotificationsRepository } from './notifications.repository.js';
import type { OutsideDelivery } from './alert-news.js';
import { AlertNewsRepository, type NewTimelineEntry } from './alert-news.repository.js';
import type { Channels, DeliveryOutcome } from './channels/index.js';
import { renderAlertMessage } from './channels/message.js';
import { channelsFor, type OutsideChannel, type Priority } from './escalation-policy.js';
import type { Notification } from './alerts.shapes.js';

export const DELIVER_JOB = 'alert.deliver' as const;

export interface DeliverPayload {
  organizationId: string;
  requestId: string | null;
  alertId: string;
  /** The person told; null for the hospital's webhook. */
  userId: string | null;
  channel: OutsideChannel | 'webhook';
  kind: Notification['kind'];
  tier: number;
}

declare module '../../platform/jobs/job-map.js' {
  interface JobMap {
    'alert.deliver': DeliverPayload;
  }
}

/** Retries with backoff (about 5, 10, 20, 40, 80 s), then the dead-letter queue. */
export const DELIVER_QUEUE: QueueOptions = {
  retryLimit: 5,
  retryDelay: 5,
  retryBackoff: true,
  expireInSeconds: 120,
  deadLetter: true,
  concurrency: 4,
};

/** Thrown so that pg-boss retries the delivery; the reason is already on the alert's timeline. */
export class RetryDelivery extends Error {}

export interface AlertDeliveryDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  channels: Channels;
  linkTo(alertId: string): string;
}

/**
 * The outside deliveries of alerts: email and web push to each person by their channels for the
 * urgency, and the hospital's webhook. Each is a job, queued in the transaction that raised or
 * escalated the alert, retried with backoff; every attempt is written on the alert's timeline. At
 * send time the alert is read again: a notice of an alert acknowledged or resolved meanwhile is
 * dropped, never sent (an acknowledgement reminder is sent: it is about the acknowledgement).
 */
export class AlertDelivery {
  constructor(private readonly deps: AlertDeliveryDependencies) {}

  /**
   * Queues, in the work's transaction, each person's outside channels for the alert's urgency and
   * each alert's hospital webhook (once per alert and kind): a policy lookup, a preferences lookup and
   * one insert of jobs, whatever the number of alerts. Answers the timeline rows that say so.
   */
  async queue(
    work: Work,
    deliveries: OutsideDelivery[],
    alerts: Map<string, AlertRow>,
    at: Date,
  ): Promise<NewTimelineEntry[]> {
    if (deliveries.length === 0) return [];
    const policies = await work.repo(AlertsRepository).policiesOf([...alerts.values()].map((a) => a.hospitalId));
    const chosen = await work.repo(NotificationsRepository).preferencesOf(deliveries.map((d) => d.userId));
    const jobs: Omit<DeliverPayload, 'organizationId' | 'requestId'>[] = [];
    const hooked = new Set<string>();
    for (const delivery of deliveries) {
      const alert = alerts.get(delivery.alertId)!;
      const policy = policies.get(alert.hospitalId);
      for (const channel of channelsFor(alert.urgency, chosen.get(delivery.userId) ?? null, policy?.channels ?? null)) {
        if (channel === 'email' && !this.deps.channels.email.enabled) continue;
        if (channel === 'push' && !this.deps.channels.push.enabled) continue;
        jobs.push({ ...delivery, channel });
      }
      const hook = `${alert.id}:${delivery.kind}`;
      if (policy?.webhookUrl && !hooked.has(hook)) {
        hooked.add(hook);
        jobs.push({ alertId: alert.id, userId: null, channel: 'webhook', kind: delivery.kind, tier: delivery.tier });
      }
    }
    await work.enqueueMany(DELIVER_JOB, jobs);
    return jobs.map(({ alertId, ...detail }) => ({
      alertId,
      type: 'delivery-queued',
      actorId: null,
      detail:
        detail.userId === null
          ? { channel: detail.channel, kind: detail.kind, tier: detail.tier }
          : { alertId, ...detail },
      at,
    }));
  }

  /** The job: sends one delivery, writes its outcome on the timeline, and asks for a retry when it may help. */
  async run(job: JobRun<DeliverPayload>): Promise<{ result: string }> {
    const { data } = job;
    const acting: ActingContext = job.acting;
    const target = await this.deps.uow.read(acting, async (work) => {
      const repo = work.repo(AlertsRepository);
      const alert = await repo.find(data.alertId);
      if (!alert) return undefined;
      const location = await repo.location(alert.hospitalId, alert.unitId, alert.roomId);
      const people = work.repo(NotificationsRepository);
      const email = data.userId ? await people.memberEmail(data.userId) : undefined;
      const subscriptions = data.userId && data.channel === 'push' ? await people.pushSubscriptionsOf(data.userId) : [];
      const policy = data.channel === 'webhook' ? await repo.policyOf(alert.hospitalId) : undefined;
      work.audit({ action: 'alerts.deliver', resourceType: 'alert', resourceId: alert.id });
      return { alert, location: location!, email, subscriptions, webhookUrl: policy?.webhookUrl ?? null };
    });
    if (!target) return { result: 'alert-gone' };
    const { alert } = target;

    // Told only while it matters: an alert acknowledged meanwhile stops notices, a resolved one stops everything.
    const stillWanted =
      alert.status !== 'resolved' &&
      (data.kind === 'ack-reminder' || data.kind === 'undelivered' || alert.status === 'active');
    let outcome: DeliveryOutcome;
    let goneIds: string[] = [];
    if (!stillWanted) {
      outcome = { status: 'skipped', reason: `the alert is ${alert.status}` };
    } else {
      const message = renderAlertMessage({
        kind: data.kind,
        priority: alert.priority as Priority,
        type: alert.type,
        hospitalName: target.location.hospitalName,
        unitName: target.location.unitName,
        roomName: target.location.roomName,
        tier: data.tier,
        link: this.deps.linkTo(alert.id),
      });
      const { email, webhook } = this.deps.channels;
      if (data.channel === 'email') {
        outcome = target.email
          ? await email.send(target.email, message)
          : { status: 'skipped', reason: 'not a member' };
      } else if (data.channel === 'webhook') {
        outcome = target.webhookUrl
          ? await webhook.send(target.webhookUrl, message)
          : { status: 'skipped', reason: 'no webhook set' };
      } else {
        ({ outcome, goneIds } = await this.pushAll(target.subscriptions, message));
      }
    }

    const retryable = outcome.status === 'failed' && outcome.retryable;
    // After the last retry the job still fails, so pg-boss moves it to the dead-letter queue.
    const retry = retryable && job.attempt <= DELIVER_QUEUE.retryLimit!;
    await this.deps.uow.write(acting, async (work) => {
      if (goneIds.length > 0) await work.repo(NotificationsRepository).deletePushSubscriptions(goneIds);
      await work.repo(AlertNewsRepository).appendTimeline([
        {
          alertId: alert.id,
          type: stillWanted ? 'notified' : 'delivery-dropped',
          actorId: null,
          detail: {
            userId: data.userId,
            channel: data.channel,
            kind: data.kind,
            tier: data.tier,
            result: outcome.status,
            ...('reason' in outcome ? { reason: outcome.reason } : {}),
            attempt: job.attempt,
            ...(retry ? { retrying: true } : {}),
          },
          at: this.deps.now(),
        },
      ]);
      work.audit({ action: 'alerts.deliver', resourceType: 'alert', resourceId: alert.id });
    });
    if (retryable)
      throw new RetryDelivery(`${data.channel} delivery failed: ${'reason' in outcome ? outcome.reason : ''}`);
    return { result: outcome.status };
  }

  /** Push to each of the person's browsers: sent if any took it; retryable if one may yet. */
  private async pushAll(
    subscriptions: { id: string; endpoint: string; p256dh: string; auth: string }[],
    message: ReturnType<typeof renderAlertMessage>,
  ): Promise<{ outcome: DeliveryOutcome; goneIds: string[] }> {
    if (subscriptions.length === 0)
      return { outcome: { status: 'skipped', reason: 'no push subscription' }, goneIds: [] };
    const outcomes = await Promise.all(
      subscriptions.map((s) =>
        this.deps.channels.push.send({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, message),
      ),
    );
    const goneIds = subscriptions
      .filter((_, i) => {
        const o = outcomes[i]!;
        return o.status === 'failed' && o.gone === true;
      })
      .map((s) => s.id);
    const sentCount = outcomes.filter((o) => o.status === 'sent').length;
    if (sentCount > 0) return { outcome: { status: 'sent', detail: `${sentCount} of ${outcomes.length}` }, goneIds };
    const retryable = outcomes.find((o) => o.status === 'failed' && o.retryable);
    return { outcome: retryable ?? outcomes[0]!, goneIds };
  }
}
