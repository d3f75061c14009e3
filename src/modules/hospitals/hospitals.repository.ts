import { and, asc, eq, ne } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { hospitals, rooms, units } from './hospitals.schema.js';

export type HospitalRow = typeof hospitals.$inferSelect;
export type UnitRow = typeof units.$inferSelect;
export type RoomRow = typeof rooms.$inferSelect;

type HospitalValues = Pick<HospitalRow, 'name' | 'address' | 'timezone' | 'isDefault' | 'active'>;
type Stamped = { createdAt: Date; updatedAt: Date };

const activeIs = (column: typeof hospitals.active | typeof units.active | typeof rooms.active, active?: boolean) =>
  active === undefined ? undefined : eq(column, active);

/** All SQL on hospitals, their units and the units' rooms. */
export class HospitalsRepository extends TenantRepository {
  listHospitals(limit: number, cursor: Cursor | undefined, active?: boolean): Promise<HospitalRow[]> {
    return this.db
      .select()
      .from(hospitals)
      .where(
        this.where(
          hospitals,
          activeIs(hospitals.active, active),
          afterCursor(hospitals.createdAt, hospitals.id, cursor),
        ),
      )
      .orderBy(asc(hospitals.createdAt), asc(hospitals.id))
      .limit(limit + 1);
  }

  async findHospital(id: string, lock = false): Promise<HospitalRow | undefined> {
    const query = this.db
      .select()
      .from(hospitals)
      .where(this.where(hospitals, eq(hospitals.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  /**
   * Locks every hospital of the organization (there are few), so that two concurrent changes of the
   * default are done one after the other instead of one failing on the partial unique index.
   */
  async lockHospitals(): Promise<void> {
    await this.db.select({ id: hospitals.id }).from(hospitals).where(this.where(hospitals)).for('update');
  }

  /** Clears the default flag on every hospital but `exceptId`; the ids of those that were the default. */
  async clearDefault(exceptId?: string): Promise<string[]> {
    const rows = await this.db
      .update(hospitals)
      .set({ isDefault: false })
      .where(this.where(hospitals, eq(hospitals.isDefault, true), exceptId ? ne(hospitals.id, exceptId) : undefined))
      .returning({ id: hospitals.id });
    return rows.map((row) => row.id);
  }

  async insertHospital(values: HospitalValues & Stamped): Promise<HospitalRow> {
    const [row] = await this.db.insert(hospitals).values(this.owned(values)).returning();
    return row!;
  }

  async updateHospital(id: string, values: Partial<HospitalValues> & { updatedAt: Date }): Promise<HospitalRow> {
    const [row] = await this.db
      .update(hospitals)
      .set(values)
      .where(this.where(hospitals, eq(hospitals.id, id)))
      .returning();
    return row!;
  }

  async deleteHospital(id: string): Promise<boolean> {
    const rows = await this.db
      .delete(hospitals)
      .where(this.where(hospitals, eq(hospitals.id, id)))
      .returning({ id: hospitals.id });
    return rows.length > 0;
  }

  listUnits(hospitalId: string, limit: number, cursor: Cursor | undefined, active?: boolean): Promise<UnitRow[]> {
    return this.db
      .select()
      .from(units)
      .where(
        this.where(
          units,
          eq(units.hospitalId, hospitalId),
          activeIs(units.active, active),
          afterCursor(units.createdAt, units.id, cursor),
        ),
      )
      .orderBy(asc(units.createdAt), asc(units.id))
      .limit(limit + 1);
  }

  async findUnit(id: string, lock = false): Promise<UnitRow | undefined> {
    const query = this.db
      .select()
      .from(units)
      .where(this.where(units, eq(units.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async insertUnit(values: Pick<UnitRow, 'hospitalId' | 'name' | 'kind'> & Stamped): Promise<UnitRow> {
    const [row] = await this.db.insert(units).values(this.owned(values)).returning();
    return row!;
  }

  async updateUnit(id: string, values: Partial<Pick<UnitRow, 'name' | 'kind' | 'active'>> & { updatedAt: Date }) {
    const [row] = await this.db
      .update(units)
      .set(values)
      .where(this.where(units, eq(units.id, id)))
      .returning();
    return row!;
  }

  /** Deletes a unit; its hospital's id, or undefined when there was no such unit. */
  async deleteUnit(id: string): Promise<{ hospitalId: string } | undefined> {
    const [row] = await this.db
      .delete(units)
      .where(this.where(units, eq(units.id, id)))
      .returning({ hospitalId: units.hospitalId });
    return row;
  }

  listRooms(unitId: string, limit: number, cursor: Cursor | undefined, active?: boolean): Promise<RoomRow[]> {
    return this.db
      .select()
      .from(rooms)
      .where(
        this.where(
          rooms,
          eq(rooms.unitId, unitId),
          activeIs(rooms.active, active),
          afterCursor(rooms.createdAt, rooms.id, cursor),
        ),
      )
      .orderBy(asc(rooms.createdAt), asc(rooms.id))
      .limit(limit + 1);
  }

  async findRoom(id: string): Promise<RoomRow | undefined> {
    const [row] = await this.db
      .select()
      .from(rooms)
      .where(this.where(rooms, eq(rooms.id, id)));
    return row;
  }

  async insertRoom(values: Pick<RoomRow, 'hospitalId' | 'unitId' | 'name'> & Stamped): Promise<RoomRow> {
    const [row] = await this.db.insert(rooms).values(this.owned(values)).returning();
    return row!;
  }

  async updateRoom(id: string, values: Partial<Pick<RoomRow, 'name' | 'active'>> & { updatedAt: Date }) {
    const [row] = await this.db
      .update(rooms)
      .set(values)
      .where(this.where(rooms, and(eq(rooms.id, id))))
      .returning();
    return row!;
  }

  /** Deletes a room; its unit's id, or undefined when there was no such room. */
  async deleteRoom(id: string): Promise<{ unitId: string } | undefined> {
    const [row] = await this.db
      .delete(rooms)
      .where(this.where(rooms, eq(rooms.id, id)))
      .returning({ unitId: rooms.unitId });
    return row;
  }
}
