import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { DashboardRepository } from './dashboard.repository.js';
import type { DashboardQuery, DashboardStats } from './dashboard.shapes.js';

/** What the dashboard needs of a hospital (app.hospitals.getHospital; throws NOT_FOUND for another tenant's). */
export interface HospitalZone {
  timezone: string;
}

export interface DashboardDependencies {
  uow: Pick<UnitOfWork, 'read'>;
  now: Clock;
  hospital(ctx: TenantContext, id: string): Promise<HospitalZone>;
  /** Open clinical alerts; 0 until the alerts module answers it. */
  activeAlerts(ctx: TenantContext, hospitalId: string | null): Promise<number>;
}

/** The calendar date of `instant` in `timezone`, as YYYY-MM-DD. */
export function dateIn(instant: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(instant);
}

/**
 * Figures for the caller's organization, or one hospital: counts only, never a patient's record, so
 * reading them is not an access to patient data and is not audited.
 */
export class DashboardService {
  constructor(private readonly deps: DashboardDependencies) {}

  async stats(ctx: TenantContext, query: DashboardQuery): Promise<DashboardStats> {
    const hospitalId = query.hospitalId ?? null;
    const generatedAt = this.deps.now();
    const [{ row, day }, activeAlerts] = await Promise.all([
      this.deps.uow.read(ctx, async (work) => {
        const repo = work.repo(DashboardRepository);
        // A hospital's own zone; otherwise the default hospital's; otherwise UTC.
        const timezone = hospitalId
          ? (await this.deps.hospital(ctx, hospitalId)).timezone
          : ((await repo.defaultZone()) ?? 'UTC');
        const day = { date: query.date ?? dateIn(generatedAt, timezone), timezone };
        return { row: await repo.stats(day, hospitalId), day };
      }),
      this.deps.activeAlerts(ctx, hospitalId),
    ]);
    const { timezone } = day;
    const byStatus = row.appointmentsByStatus ?? {};
    return {
      hospitalId,
      date: day.date,
      timezone,
      patients: { active: row.patients },
      appointments: { total: Object.values(byStatus).reduce((sum, n) => sum + n, 0), byStatus },
      openEncounters: row.openEncounters,
      labResults: { pending: row.pendingLabResults, critical: row.criticalLabResults },
      lowStockItems: row.lowStockItems,
      unpaidInvoices: { count: row.unpaidInvoices, total: row.unpaidTotal },
      activeAlerts,
      generatedAt,
    };
  }
}
