import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { AlertsRepository } from './alerts.repository.js';

export interface AlertStatsDependencies {
  uow: Pick<UnitOfWork, 'read'>;
  now: Clock;
}

/** Alert analytics for managers: alerts per unit and urgency, time to acknowledge, escalation rate. */
export class AlertStatsService {
  constructor(private readonly deps: AlertStatsDependencies) {}

  private get uow() {
    return this.deps.uow;
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
}
