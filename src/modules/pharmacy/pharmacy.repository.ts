import { and, asc, eq, sql } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { medications } from '../medications/medications.schema.js';
import { pharmacyLocations, stockLevels, stockMovements } from './pharmacy.schema.js';
import type { MovementType } from './pharmacy.shapes.js';

export type LocationRow = typeof pharmacyLocations.$inferSelect;
export type MovementRow = typeof stockMovements.$inferSelect;
export type LevelRow = typeof stockLevels.$inferSelect;
export type LevelView = LevelRow & { medicationName: string; medicationCode: string };

export type NewMovement = Omit<typeof stockMovements.$inferInsert, 'id' | 'organizationId' | 'createdAt' | 'updatedAt'>;

const levelView = {
  id: stockLevels.id,
  organizationId: stockLevels.organizationId,
  locationId: stockLevels.locationId,
  medicationId: stockLevels.medicationId,
  onHand: stockLevels.onHand,
  lowStockThreshold: stockLevels.lowStockThreshold,
  createdAt: stockLevels.createdAt,
  updatedAt: stockLevels.updatedAt,
  medicationName: medications.name,
  medicationCode: medications.code,
};

/** All SQL on pharmacy locations, the stock ledger and the on-hand levels. */
export class PharmacyRepository extends TenantRepository {
  async insertLocation(values: { name: string; hospitalId: string | null; at: Date }): Promise<LocationRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(pharmacyLocations)
      .values(this.owned({ ...rest, active: true, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  async findLocation(id: string, lock = false): Promise<LocationRow | undefined> {
    const query = this.db
      .select()
      .from(pharmacyLocations)
      .where(this.where(pharmacyLocations, eq(pharmacyLocations.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async updateLocation(
    id: string,
    patch: Partial<Pick<LocationRow, 'name' | 'hospitalId' | 'active'>> & { updatedAt: Date },
  ): Promise<LocationRow> {
    const [row] = await this.db
      .update(pharmacyLocations)
      .set(patch)
      .where(this.where(pharmacyLocations, eq(pharmacyLocations.id, id)))
      .returning();
    return row!;
  }

  listLocations(active: boolean | undefined, limit: number, cursor: Cursor | undefined): Promise<LocationRow[]> {
    return this.db
      .select()
      .from(pharmacyLocations)
      .where(
        this.where(
          pharmacyLocations,
          active === undefined ? undefined : eq(pharmacyLocations.active, active),
          afterCursor(pharmacyLocations.createdAt, pharmacyLocations.id, cursor),
        ),
      )
      .orderBy(asc(pharmacyLocations.createdAt), asc(pharmacyLocations.id))
      .limit(limit + 1);
  }

  /**
   * Adds `quantity` (positive) to the on-hand level, creating the level when it is the first stock of
   * the medication there: one statement, so concurrent receipts all count.
   */
  async increase(locationId: string, medicationId: string, quantity: number, at: Date): Promise<LevelRow> {
    const [row] = await this.db
      .insert(stockLevels)
      .values(this.owned({ locationId, medicationId, onHand: quantity, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({
        target: [stockLevels.organizationId, stockLevels.locationId, stockLevels.medicationId],
        set: { onHand: sql`${stockLevels.onHand} + ${quantity}`, updatedAt: at },
      })
      .returning();
    return row!;
  }

  /**
   * Takes `quantity` (positive) off the on-hand level only if that leaves it at zero or more, in one
   * conditional statement: concurrent takers queue on the row, and each re-checks the condition on the
   * level the previous one left, so the last units go to exactly as many takers as there are units.
   * Undefined when there is not enough.
   */
  async decrease(locationId: string, medicationId: string, quantity: number, at: Date): Promise<LevelRow | undefined> {
    const [row] = await this.db
      .update(stockLevels)
      .set({ onHand: sql`${stockLevels.onHand} - ${quantity}`, updatedAt: at })
      .where(
        this.where(
          stockLevels,
          eq(stockLevels.locationId, locationId),
          eq(stockLevels.medicationId, medicationId),
          sql`${stockLevels.onHand} - ${quantity} >= 0`,
        ),
      )
      .returning();
    return row;
  }

  /** The on-hand quantity now (0 when the medication was never stocked there). */
  async onHand(locationId: string, medicationId: string): Promise<number> {
    const [row] = await this.db
      .select({ onHand: stockLevels.onHand })
      .from(stockLevels)
      .where(
        this.where(stockLevels, eq(stockLevels.locationId, locationId), eq(stockLevels.medicationId, medicationId)),
      );
    return row?.onHand ?? 0;
  }

  /** Sets the low-stock threshold, creating an empty level when there is none yet. */
  async setThreshold(locationId: string, medicationId: string, threshold: number, at: Date): Promise<LevelRow> {
    const [row] = await this.db
      .insert(stockLevels)
      .values(this.owned({ locationId, medicationId, lowStockThreshold: threshold, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({
        target: [stockLevels.organizationId, stockLevels.locationId, stockLevels.medicationId],
        set: { lowStockThreshold: threshold, updatedAt: at },
      })
      .returning();
    return row!;
  }

  async insertMovements(rows: NewMovement[], at: Date): Promise<MovementRow[]> {
    return this.db
      .insert(stockMovements)
      .values(rows.map((row) => this.owned({ ...row, createdAt: at, updatedAt: at })))
      .returning();
  }

  listMovements(
    filter: { locationId?: string; medicationId?: string; prescriptionId?: string; type?: MovementType },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<MovementRow[]> {
    return this.db
      .select()
      .from(stockMovements)
      .where(
        this.where(
          stockMovements,
          filter.locationId ? eq(stockMovements.locationId, filter.locationId) : undefined,
          filter.medicationId ? eq(stockMovements.medicationId, filter.medicationId) : undefined,
          filter.prescriptionId ? eq(stockMovements.prescriptionId, filter.prescriptionId) : undefined,
          filter.type ? eq(stockMovements.type, filter.type) : undefined,
          afterCursor(stockMovements.createdAt, stockMovements.id, cursor),
        ),
      )
      .orderBy(asc(stockMovements.createdAt), asc(stockMovements.id))
      .limit(limit + 1);
  }

  /** On-hand levels with their medication's name and code; `lowOnly`: at or below the threshold. */
  levels(
    filter: { locationId?: string; medicationId?: string; lowOnly?: boolean },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<LevelView[]> {
    return this.db
      .select(levelView)
      .from(stockLevels)
      .innerJoin(
        medications,
        and(eq(medications.organizationId, stockLevels.organizationId), eq(medications.id, stockLevels.medicationId)),
      )
      .where(
        this.where(
          stockLevels,
          filter.locationId ? eq(stockLevels.locationId, filter.locationId) : undefined,
          filter.medicationId ? eq(stockLevels.medicationId, filter.medicationId) : undefined,
          // The predicate of the partial index stock_levels_low_idx, so that it can answer.
          filter.lowOnly ? sql`${stockLevels.onHand} <= ${stockLevels.lowStockThreshold}` : undefined,
          afterCursor(stockLevels.createdAt, stockLevels.id, cursor),
        ),
      )
      .orderBy(asc(stockLevels.createdAt), asc(stockLevels.id))
      .limit(limit + 1);
  }

  async level(locationId: string, medicationId: string): Promise<LevelView | undefined> {
    const [row] = await this.levels({ locationId, medicationId }, 1, undefined);
    return row;
  }
}
