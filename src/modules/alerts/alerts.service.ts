import type { Clock } from '../../platform/clock.js';
import { systemActing, type UnitOfWork, type Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import type { FrozenPolicy } from './alerts.schema.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import type { LabResultCritical } from '../labs/lab-orders.service.js';
import { AlertNews, type AlertNewsDependencies, toAlert } from './alert-news.js';
import { type AlertRow, type AlertChanges, AlertsRepository, type Location } from './alerts.repository.js';
import type { Alert, AlertEventType, RaiseAlert } from './alerts.shapes.js';
import { DEFAULT_POLICY, freeze, nextStepAt, priorityOf, resumeAt } from './escalation-policy.js';

/** The longest a silence may last. */
const MAX_SILENCE_MS = 24 * 3600_000;

export interface AlertsDependencies extends AlertNewsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
}

const notFound = () => new AppError('NOT_FOUND', 'alert not found');

/** The changes a response to an alert makes, and how its timeline and event feed record them. */
interface Response {
  changes: AlertChanges;
  timeline: string;
  detail?: Record<string, unknown>;
  event: AlertEventType;
}

/**
 * Clinical alerts: raising (with deduplication), acknowledging, silencing, resolving, the escalation
 * steps the engine fires, who is notified and how (the reads are AlertReadsService's). Every change
 * is one transaction with its timeline rows, its event, its in-app notifications, its queued outside
 * deliveries and its audit event; sockets hear of it after commit.
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
    const news = AlertNews.of(work, this.deps, at);
    if (!created) {
      // A repeat at a higher urgency raises the alert's (raiseUrgency), and who it concerns is told:
      // the tier on it, or whoever acknowledged it. A lower one changes nothing but the count.
      const higher = input.urgency > row.urgency;
      const current = higher ? await this.raiseUrgency(repo, row, input.urgency, policy, at) : row;
      news.note(row.id, 'repeated', input.raisedBy, {
        raisedCount: row.raisedCount,
        patientId: input.patientId ?? null,
        ...(higher
          ? {
              urgencyFrom: row.urgency,
              urgency: input.urgency,
              ...(row.status === 'silenced' ? { silenceEnded: true } : {}),
            }
          : {}),
        ...input.origin,
      });
      news.event('alert:updated', current);
      if (higher && current.status === 'active' && !(current.nextEscalationAt && current.nextEscalationAt <= at)) {
        // (A step already due under the new urgency fires at the engine's next look, and tells its tier then.)
        news.notify(current, location, 'alert', current.tier);
      } else if (higher && current.status === 'acknowledged' && current.acknowledgedBy) {
        news.tell(current, location, 'alert', current.tier, [current.acknowledgedBy]);
      }
      return { row: current, created };
    }
    news.note(row.id, 'raised', input.raisedBy, {
      urgency: row.urgency,
      type: row.type,
      source: row.source,
      policy,
      ...input.origin,
    });
    news.event('alert:new', row);
    news.notify(row, location, 'alert', 1);
    return { row, created };
  }

  /**
   * The open alert (locked by the raise's upsert) at a higher urgency: its priority, and its steps
   * those of the new urgency as the hospital's policy sets them now, counted from the first raise. A
   * silenced alert is active again (what it was silenced for has changed); an active one's next step
   * comes at the new urgency's time for it, or sooner as it was; an acknowledged one keeps its
   * acknowledgement and timeout.
   */
  private raiseUrgency(repo: AlertsRepository, row: AlertRow, urgency: number, policy: FrozenPolicy, at: Date) {
    const changes: AlertChanges = { urgency, priority: priorityOf(urgency), policy, updatedAt: at };
    if (row.status === 'active' || row.status === 'silenced') {
      const due = nextStepAt(policy, row.createdAt, row.step);
      const current = row.status === 'active' ? row.nextEscalationAt : null;
      changes.nextEscalationAt = due && (!current || due < current) ? due : current;
      if (row.status === 'silenced') Object.assign(changes, { status: 'active', silencedUntil: null });
    }
    return repo.update(row.id, changes);
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
      const news = AlertNews.of(work, this.deps, at);
      news.note(id, response.timeline, ctx.user.id, response.detail);
      news.event(response.event, updated);
      return toAlert(updated);
    });
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
}
