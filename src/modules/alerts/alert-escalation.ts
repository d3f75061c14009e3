import type { Clock } from '../../platform/clock.js';
import { systemActing, type UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AlertNews, type AlertNewsDependencies } from './alert-news.js';
import { type AlertRow, AlertsRepository, type Location } from './alerts.repository.js';
import { resumeAt, tierOfStep } from './escalation-policy.js';

export interface AlertEscalationDependencies {
  uow: Pick<UnitOfWork, 'write'>;
  now: Clock;
  news: AlertNewsDependencies;
}

/** The timer state of an alert, as one firing leaves it. */
type TimerState = Pick<
  AlertRow,
  'id' | 'status' | 'step' | 'tier' | 'acknowledgedAt' | 'acknowledgedBy' | 'silencedUntil' | 'nextEscalationAt'
>;

/** What firing one alert's timer does: its new state, what is told, and how late it fired (null: nothing fired). */
interface Firing {
  state: TimerState;
  lateMs: number | null;
  tell(news: AlertNews, updated: AlertRow, location: Location): void;
}

/** A batch of timers found not due (any more) when claimed: abandoned, not an error. */
class NothingDue extends Error {}

/**
 * The escalation steps of alerts, fired by the escalation engine: for a batch of one organization's
 * alerts whose timer (`next_escalation_at`) is due, in one transaction, the next step (the next
 * tier is told), the end of a silence (the tier is told again), or an acknowledgement that timed
 * out (it escalates, and who acknowledged is reminded). A maintenance window holds the schedule: the
 * step waits for the window's end (it is not used up unheard).
 */
export class AlertEscalation {
  constructor(private readonly deps: AlertEscalationDependencies) {}

  /**
   * Fires the due timers of these alerts of one organization, those still due and not held by another
   * process (claimed with FOR NO KEY UPDATE SKIP LOCKED, and checked due again), so a step fires once
   * however many engines look. Resolves with how late each fired step was (ms), by alert id; a timer
   * made stale by an acknowledgement, or held by another process, is not there.
   */
  async fireDue(organizationId: string, ids: string[]): Promise<Map<string, number>> {
    const fired = new Map<string, number>();
    const write = this.deps.uow.write(systemActing(organizationId), async (work) => {
      const at = this.deps.now();
      const repo = work.repo(AlertsRepository);
      const rows = await repo.claimDue(ids, at);
      // Nothing to do: nothing happened, so nothing commits.
      if (rows.length === 0) throw new NothingDue();
      const news = AlertNews.of(work, this.deps.news, at);
      const [locations, windows] = await Promise.all([
        repo.locations(rows.map((r) => r.roomId)),
        news.openWindows(rows.map((r) => r.unitId)),
      ]);
      const firings = new Map<string, Firing>();
      for (const row of rows) {
        work.audit({ action: 'alerts.escalate', resourceType: 'alert', resourceId: row.id, patientId: row.patientId });
        firings.set(row.id, this.firing(row, at, windows.get(row.unitId)));
      }
      const updated = await repo.updateTimers(
        [...firings.values()].map((f) => f.state),
        at,
      );
      // In the order they were claimed (most overdue first), which is the order of their events.
      const byId = new Map(updated.map((row) => [row.id, row]));
      for (const row of rows.map((claimed) => byId.get(claimed.id)!)) {
        const firing = firings.get(row.id)!;
        // A room is never deleted while an alert refers to it (a foreign key).
        firing.tell(news, row, locations.get(row.roomId)!);
        if (firing.lateMs !== null) fired.set(row.id, firing.lateMs);
      }
    });
    await write.catch((error: unknown) => {
      if (!(error instanceof NothingDue)) throw error;
    });
    return fired;
  }

  /** What firing this alert's due timer at `at` does. */
  private firing(row: AlertRow, at: Date, window: { id: string; endsAt: Date } | undefined): Firing {
    const lateMs = at.getTime() - row.nextEscalationAt!.getTime();
    const keep: TimerState = {
      id: row.id,
      status: row.status,
      step: row.step,
      tier: row.tier,
      acknowledgedAt: row.acknowledgedAt,
      acknowledgedBy: row.acknowledgedBy,
      silencedUntil: row.silencedUntil,
      nextEscalationAt: row.nextEscalationAt,
    };
    if (row.status === 'resolved') return { state: { ...keep, nextEscalationAt: null }, lateMs: null, tell: () => {} };
    if (window) {
      return {
        state: { ...keep, nextEscalationAt: window.endsAt },
        lateMs: null,
        tell: (news) =>
          news.note(row.id, 'postponed', null, {
            reason: 'maintenance window',
            windowId: window.id,
            until: window.endsAt.toISOString(),
          }),
      };
    }
    if (row.status === 'silenced') {
      // The silence is over: active again, the current tier is told again, and the schedule resumes.
      return {
        state: {
          ...keep,
          status: 'active',
          silencedUntil: null,
          nextEscalationAt: resumeAt(row.policy, row.createdAt, row.step, at),
        },
        lateMs,
        tell: (news, updated, location) => {
          news.note(row.id, 'silence-ended', null, { lateMs });
          news.event('alert:updated', updated);
          news.notify(updated, location, 'alert', updated.tier);
        },
      };
    }
    const step = row.step + 1;
    const tier = Math.max(row.tier, tierOfStep(step));
    const timedOut = row.status === 'acknowledged';
    return {
      state: {
        ...keep,
        status: 'active',
        step,
        tier,
        acknowledgedAt: null,
        acknowledgedBy: null,
        // Never sooner than the step's own interval: after an outage (or an acknowledgement that timed
        // out) the missed steps do not page every tier in one burst.
        nextEscalationAt: resumeAt(row.policy, row.createdAt, step, at),
      },
      lateMs,
      tell: (news, updated, location) => {
        if (timedOut) {
          news.note(row.id, 'ack-timeout', null, {
            acknowledgedBy: row.acknowledgedBy,
            ackTimeoutSeconds: row.policy.ackTimeoutSeconds,
          });
        }
        news.note(row.id, 'escalated', null, { step, tier, lateMs });
        news.event('alert:escalated', updated);
        if (timedOut && row.acknowledgedBy) news.tell(updated, location, 'ack-reminder', tier, [row.acknowledgedBy]);
        news.notify(updated, location, 'escalation', tier);
      },
    };
  }
}
