import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import type { CreateMaintenanceWindow } from './alerts.shapes.js';
import { MaintenanceWindowsRepository } from './maintenance-windows.repository.js';

const toWindow = (row: {
  id: string;
  unitId: string;
  startsAt: Date;
  endsAt: Date;
  reason: string;
  createdBy: string | null;
  createdAt: Date;
}) => ({
  id: row.id,
  unitId: row.unitId,
  startsAt: row.startsAt,
  endsAt: row.endsAt,
  reason: row.reason,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
});

/**
 * Maintenance windows of a unit: while one is open the unit's alerts are recorded but notify nobody,
 * and their escalation steps wait for its end (AlertsService.fire reads the open window).
 */
export class MaintenanceWindowsService {
  constructor(private readonly deps: { uow: Pick<UnitOfWork, 'read' | 'write'>; now: Clock }) {}

  private get uow() {
    return this.deps.uow;
  }

  /** The unit's maintenance windows not yet over. */
  list(ctx: TenantContext, unitId: string) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(MaintenanceWindowsRepository);
      if (!(await repo.unitExists(unitId))) throw new AppError('NOT_FOUND', 'unit not found');
      work.audit({ action: 'maintenance-windows.list', resourceType: 'unit', resourceId: unitId });
      return { data: (await repo.windowsOf(unitId, this.deps.now())).map(toWindow) };
    });
  }

  /** Opens a maintenance window: alerts of the unit are recorded but notify nobody while it lasts. */
  open(ctx: TenantContext, unitId: string, input: CreateMaintenanceWindow) {
    const startsAt = new Date(input.startsAt);
    const endsAt = new Date(input.endsAt);
    const now = this.deps.now();
    const problems = [
      ...(endsAt <= startsAt ? [{ path: 'body.endsAt', message: 'must be after startsAt' }] : []),
      ...(endsAt <= now ? [{ path: 'body.endsAt', message: 'must be in the future' }] : []),
      ...(endsAt.getTime() - startsAt.getTime() > 7 * 86_400_000
        ? [{ path: 'body.endsAt', message: 'a window lasts at most 7 days' }]
        : []),
    ];
    if (problems.length > 0) throw new AppError('VALIDATION_FAILED', 'the maintenance window is refused', problems);
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(MaintenanceWindowsRepository);
      if (!(await repo.unitExists(unitId))) throw new AppError('NOT_FOUND', 'unit not found');
      const row = await repo.insertWindow({
        unitId,
        startsAt,
        endsAt,
        reason: input.reason,
        createdBy: ctx.user.id,
        at: now,
      });
      work.audit({ action: 'maintenance-windows.create', resourceType: 'maintenance-window', resourceId: row.id });
      return toWindow(row);
    });
  }

  /**
   * Closes a window now: one that has started ends now (kept, as the record of why alerts were quiet,
   * and the alerts it held are due at once); one that has not started is deleted.
   */
  close(ctx: TenantContext, id: string) {
    return this.uow.write(ctx, async (work) => {
      const closed = await work.repo(MaintenanceWindowsRepository).closeWindow(id, this.deps.now());
      if (!closed) throw new AppError('NOT_FOUND', 'maintenance window not found');
      work.audit({ action: 'maintenance-windows.close', resourceType: 'maintenance-window', resourceId: id });
    });
  }
}
