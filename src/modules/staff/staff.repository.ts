import { and, asc, desc, eq, isNotNull, isNull, lt, or, type SQL } from 'drizzle-orm';
import { members, users } from '../../platform/auth/auth.schema.js';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { shifts, staffProfiles } from './staff.schema.js';

export type ShiftRow = typeof shifts.$inferSelect;
export type ProfileValues = Pick<
  typeof staffProfiles.$inferInsert,
  'hospitalId' | 'unitId' | 'licenceNumber' | 'specialization' | 'phone'
>;

const staffColumns = {
  userId: members.userId,
  name: users.name,
  role: members.role,
  joinedAt: members.createdAt,
  hospitalId: staffProfiles.hospitalId,
  unitId: staffProfiles.unitId,
  licenceNumber: staffProfiles.licenceNumber,
  specialization: staffProfiles.specialization,
  phone: staffProfiles.phone,
  shiftId: shifts.id,
  shiftHospitalId: shifts.hospitalId,
  shiftUnitId: shifts.unitId,
  shiftRole: shifts.role,
  shiftStartedAt: shifts.startedAt,
};

export interface StaffRow {
  userId: string;
  name: string;
  role: string;
  joinedAt: Date;
  hospitalId: string | null;
  unitId: string | null;
  licenceNumber: string | null;
  specialization: string | null;
  phone: string | null;
  shiftId: string | null;
  shiftHospitalId: string | null;
  shiftUnitId: string | null;
  shiftRole: string | null;
  shiftStartedAt: Date | null;
}

export interface StaffFilters {
  role?: string;
  hospitalId?: string;
  unitId?: string;
  onDuty?: boolean;
}

/** All SQL on staff profiles and shifts, with the members (and their names) they belong to. */
export class StaffRepository extends TenantRepository {
  /** Members with their profile (if any) and open shift (if any): a member without a profile is listed too. */
  private staff(...conditions: (SQL | undefined)[]) {
    return this.db
      .select(staffColumns)
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .leftJoin(
        staffProfiles,
        and(eq(staffProfiles.organizationId, members.organizationId), eq(staffProfiles.userId, members.userId)),
      )
      .leftJoin(
        shifts,
        and(
          eq(shifts.organizationId, members.organizationId),
          eq(shifts.userId, members.userId),
          isNull(shifts.endedAt),
        ),
      )
      .where(this.where(members, ...conditions));
  }

  list(filters: StaffFilters, limit: number, cursor: Cursor | undefined): Promise<StaffRow[]> {
    return this.staff(
      filters.role ? eq(members.role, filters.role) : undefined,
      filters.hospitalId ? eq(staffProfiles.hospitalId, filters.hospitalId) : undefined,
      filters.unitId ? eq(staffProfiles.unitId, filters.unitId) : undefined,
      filters.onDuty === undefined ? undefined : filters.onDuty ? isNotNull(shifts.id) : isNull(shifts.id),
      afterCursor(members.createdAt, members.userId, cursor),
    )
      .orderBy(asc(members.createdAt), asc(members.userId))
      .limit(limit + 1);
  }

  async find(userId: string): Promise<StaffRow | undefined> {
    const [row] = await this.staff(eq(members.userId, userId));
    return row;
  }

  async currentProfile(userId: string): Promise<ProfileValues | undefined> {
    const [row] = await this.db
      .select({
        hospitalId: staffProfiles.hospitalId,
        unitId: staffProfiles.unitId,
        licenceNumber: staffProfiles.licenceNumber,
        specialization: staffProfiles.specialization,
        phone: staffProfiles.phone,
      })
      .from(staffProfiles)
      .where(this.where(staffProfiles, eq(staffProfiles.userId, userId)))
      .for('update');
    return row;
  }

  async upsertProfile(userId: string, values: Partial<ProfileValues>, at: Date): Promise<void> {
    await this.db
      .insert(staffProfiles)
      .values(this.owned({ userId, ...values, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({
        target: [staffProfiles.organizationId, staffProfiles.userId],
        set: { ...values, updatedAt: at },
      });
  }

  async openShift(userId: string): Promise<ShiftRow | undefined> {
    const [row] = await this.db
      .select()
      .from(shifts)
      .where(this.where(shifts, eq(shifts.userId, userId), isNull(shifts.endedAt)));
    return row;
  }

  async insertShift(
    values: Pick<ShiftRow, 'userId' | 'hospitalId' | 'unitId' | 'role' | 'startedAt' | 'startedBy'>,
  ): Promise<ShiftRow> {
    const [row] = await this.db
      .insert(shifts)
      .values(this.owned({ ...values, createdAt: values.startedAt, updatedAt: values.startedAt }))
      .returning();
    return row!;
  }

  /** Ends the user's open shift; undefined when none was open. */
  async endShift(userId: string, at: Date, endedBy: string): Promise<ShiftRow | undefined> {
    const [row] = await this.db
      .update(shifts)
      .set({ endedAt: at, endedBy, updatedAt: at })
      .where(this.where(shifts, eq(shifts.userId, userId), isNull(shifts.endedAt)))
      .returning();
    return row;
  }

  /** The user's shifts, newest first. */
  shiftsOf(userId: string, limit: number, cursor: Cursor | undefined): Promise<ShiftRow[]> {
    const at = cursor && new Date(cursor.sort);
    const before =
      cursor && at ? or(lt(shifts.startedAt, at), and(eq(shifts.startedAt, at), lt(shifts.id, cursor.id))) : undefined;
    return this.db
      .select()
      .from(shifts)
      .where(this.where(shifts, eq(shifts.userId, userId), before))
      .orderBy(desc(shifts.startedAt), desc(shifts.id))
      .limit(limit + 1);
  }

  /** Who is on duty in a unit now (shifts_open_unit_idx), with their names, by role then start. */
  onDuty(unitId: string) {
    return (
      this.db
        .select({
          shiftId: shifts.id,
          userId: shifts.userId,
          name: users.name,
          role: shifts.role,
          startedAt: shifts.startedAt,
        })
        .from(shifts)
        .innerJoin(users, eq(users.id, shifts.userId))
        // Someone removed from the organization is not on duty in it, whatever shift they left open.
        .innerJoin(members, and(eq(members.organizationId, shifts.organizationId), eq(members.userId, shifts.userId)))
        .where(this.where(shifts, eq(shifts.unitId, unitId), isNull(shifts.endedAt)))
        .orderBy(asc(shifts.role), asc(shifts.startedAt), asc(shifts.id))
    );
  }
}
