import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
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
 * The figures are cached per organization in namespace `dashboard`, key
 * `stats:<hospitalId or all>:<date or today>`, for ten seconds, and nothing invalidates them: an
 * answer may be up to ten seconds old (its `generatedAt` says when it was counted). A dashboard can
 * bear that, and dropping the entry on every appointment, encounter, lab, stock or invoice change would
 * tie all those modules to this one. Just after midnight, "today" may still be the previous day for
 * those ten seconds (the answer's `date` says which day it counts).
 */
export const DASHBOARD_CACHE = 'dashboard';
const STATS_TTL_MS = 10_000;
export const statsCacheKey = (hospitalId: string | null, date: string | undefined) =>
  `stats:${hospitalId ?? 'all'}:${date ?? 'today'}`;

/** The figures as cached: JSON (Redis holds them as text), `generatedAt` as an ISO string. */
type CachedStats = Omit<DashboardStats, 'generatedAt'> & { generatedAt: string };

/**
 * Figures for the caller's organization, or one hospital: counts only, never a patient's record, so
 * reading them is not an access to patient data and is not audited.
 */
export class DashboardService {
  constructor(private readonly deps: DashboardDependencies) {}

  /** The figures, from the cache when counted in the last ten seconds. */
  async stats(ctx: TenantContext, query: DashboardQuery): Promise<DashboardStats> {
    const hospitalId = query.hospitalId ?? null;
    // Looked up first (it is cached too): a hospital deleted, or another tenant's, is a 404 at once.
    const zone = hospitalId === null ? null : (await this.deps.hospital(ctx, hospitalId)).timezone;
    const cached = await this.deps.uow.read(ctx, (work) =>
      work.cached(DASHBOARD_CACHE, {
        key: statsCacheKey(hospitalId, query.date),
        ttl: STATS_TTL_MS,
        factory: async (): Promise<CachedStats> => {
          const stats = await this.count(ctx, work, { hospitalId, zone, date: query.date });
          return { ...stats, generatedAt: stats.generatedAt.toISOString() };
        },
      }),
    );
    return { ...cached, generatedAt: new Date(cached.generatedAt) };
  }

  private async count(
    ctx: TenantContext,
    work: Work,
    { hospitalId, zone, date }: { hospitalId: string | null; zone: string | null; date: string | undefined },
  ): Promise<DashboardStats> {
    const generatedAt = this.deps.now();
    const repo = work.repo(DashboardRepository);
    const [{ row, day }, activeAlerts] = await Promise.all([
      (async () => {
        // A hospital's own zone; otherwise the default hospital's; otherwise UTC.
        const timezone = zone ?? (await repo.defaultZone()) ?? 'UTC';
        const day = { date: date ?? dateIn(generatedAt, timezone), timezone };
        return { row: await repo.stats(day, hospitalId), day };
      })(),
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
      unstaffedUnits: row.unstaffedUnits,
      generatedAt,
    };
  }
}
