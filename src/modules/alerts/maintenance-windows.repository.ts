import { asc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import { units } from '../hospitals/hospitals.schema.js';
import { alerts, maintenanceWindows } from './alerts.schema.js';

/** All SQL on one organization's maintenance windows (and the alert timers a closed window frees). */
export class MaintenanceWindowsRepository extends TenantRepository {
  /** The maintenance window open at `at` in each of the units that has one (the latest to end), by unit id. */
  async openWindows(unitIds: string[], at: Date): Promise<Map<string, { id: string; endsAt: Date }>> {
    const w = maintenanceWindows;
    const rows = await this.db
      .select({ unitId: w.unitId, id: w.id, endsAt: w.endsAt })
      .from(w)
      .where(this.where(w, inArray(w.unitId, [...new Set(unitIds)]), lte(w.startsAt, at), gt(w.endsAt, at)))
      .orderBy(asc(w.endsAt));
    return new Map(rows.map((row) => [row.unitId, { id: row.id, endsAt: row.endsAt }]));
  }

  /** The unit's windows that have not ended by `at`, soonest first. */
  windowsOf(unitId: string, at: Date) {
    const w = maintenanceWindows;
    return this.db
      .select()
      .from(w)
      .where(this.where(w, eq(w.unitId, unitId), gt(w.endsAt, at)))
      .orderBy(asc(w.startsAt), asc(w.id));
  }

  async insertWindow(values: {
    unitId: string;
    startsAt: Date;
    endsAt: Date;
    reason: string;
    createdBy: string;
    at: Date;
  }) {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(maintenanceWindows)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  /**
   * Ends the window at `at` (deleted if it had not started), and makes the alerts it held back due now.
   * False when there is no such window of this organization.
   */
  async closeWindow(id: string, at: Date): Promise<boolean> {
    const w = maintenanceWindows;
    const [window] = await this.db
      .select()
      .from(w)
      .where(this.where(w, eq(w.id, id)))
      .for('update');
    if (!window) return false;
    if (window.startsAt > at) {
      await this.db.delete(w).where(this.where(w, eq(w.id, id)));
      return true;
    }
    if (window.endsAt <= at) return true;
    await this.db
      .update(w)
      .set({ endsAt: at, updatedAt: at })
      .where(this.where(w, eq(w.id, id)));
    await this.db
      .update(alerts)
      .set({ nextEscalationAt: at, updatedAt: at })
      .where(
        this.where(
          alerts,
          eq(alerts.unitId, window.unitId),
          eq(alerts.nextEscalationAt, window.endsAt),
          sql`${alerts.status} <> 'resolved'`,
        ),
      );
    return true;
  }

  async unitExists(unitId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: units.id })
      .from(units)
      .where(this.where(units, eq(units.id, unitId)));
    return row !== undefined;
  }
}
