import { asc, eq, gt, gte, inArray, lt, ne, notInArray, type SQL, sql } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { appointments } from './appointments.schema.js';

export type AppointmentRow = typeof appointments.$inferSelect;

/** What a list selects on; every field optional. `startFrom` inclusive, `startBefore` exclusive. */
export interface AppointmentQuery {
  practitionerId?: string;
  patientId?: string;
  roomId?: string;
  /** Only appointments in one of these rooms. */
  roomIds?: string[];
  status?: string;
  startFrom?: Date;
  startBefore?: Date;
  /** Only appointments starting on this calendar day (YYYY-MM-DD) in this time zone. */
  day?: { date: string; timezone: string };
}

/** Where a new or moved appointment wants to be, for finding the live appointment it collides with. */
export interface Slot {
  practitionerId: string;
  roomId: string | null;
  start: Date;
  end: Date;
  /** The appointment being moved, which cannot conflict with itself. */
  excludeId?: string;
}

/** The statuses that hold a slot: the exclusion constraints skip the others. */
const FREED = ['cancelled', 'no-show'];

/** All SQL on appointments. */
export class AppointmentsRepository extends TenantRepository {
  async insert(values: Omit<typeof appointments.$inferInsert, 'organizationId'>): Promise<AppointmentRow> {
    const [row] = await this.db.insert(appointments).values(this.owned(values)).returning();
    return row!;
  }

  async find(id: string, options: { lock?: boolean } = {}): Promise<AppointmentRow | undefined> {
    const query = this.db
      .select()
      .from(appointments)
      .where(this.where(appointments, eq(appointments.id, id)));
    // Locked for a transition, so two concurrent actions on one appointment see each other's result.
    const [row] = options.lock ? await query.for('update') : await query;
    return row;
  }

  async update(
    id: string,
    changes: Partial<Omit<typeof appointments.$inferInsert, 'id' | 'organizationId'>>,
    now: Date,
  ): Promise<AppointmentRow> {
    const [row] = await this.db
      .update(appointments)
      .set({ ...changes, updatedAt: now })
      .where(this.where(appointments, eq(appointments.id, id)))
      .returning();
    return row!;
  }

  list(query: AppointmentQuery, limit: number, cursor: Cursor | undefined): Promise<AppointmentRow[]> {
    const conditions: (SQL | undefined)[] = [
      query.practitionerId ? eq(appointments.practitionerId, query.practitionerId) : undefined,
      query.patientId ? eq(appointments.patientId, query.patientId) : undefined,
      query.roomId ? eq(appointments.roomId, query.roomId) : undefined,
      query.status ? eq(appointments.status, query.status) : undefined,
      query.startFrom ? gte(appointments.startsAt, query.startFrom) : undefined,
      query.startBefore ? lt(appointments.startsAt, query.startBefore) : undefined,
      query.roomIds ? inArray(appointments.roomId, query.roomIds) : undefined,
      // PostgreSQL does the calendar arithmetic, days with a daylight-saving change included.
      query.day
        ? gte(appointments.startsAt, sql`(${query.day.date}::date::timestamp at time zone ${query.day.timezone})`)
        : undefined,
      query.day
        ? lt(appointments.startsAt, sql`((${query.day.date}::date + 1)::timestamp at time zone ${query.day.timezone})`)
        : undefined,
      afterCursor(appointments.startsAt, appointments.id, cursor),
    ];
    return this.db
      .select()
      .from(appointments)
      .where(this.where(appointments, ...conditions))
      .orderBy(asc(appointments.startsAt), asc(appointments.id))
      .limit(limit + 1);
  }

  /** The live appointment that overlaps `slot` for its practitioner (or, with `by: 'room'`, its room). */
  async conflicting(slot: Slot, by: 'practitioner' | 'room'): Promise<AppointmentRow | undefined> {
    if (by === 'room' && !slot.roomId) return undefined;
    const [row] = await this.db
      .select()
      .from(appointments)
      .where(
        this.where(
          appointments,
          by === 'room' ? eq(appointments.roomId, slot.roomId!) : eq(appointments.practitionerId, slot.practitionerId),
          lt(appointments.startsAt, slot.end),
          gt(appointments.endsAt, slot.start),
          notInArray(appointments.status, FREED),
          slot.excludeId ? ne(appointments.id, slot.excludeId) : undefined,
        ),
      )
      .orderBy(asc(appointments.startsAt), asc(appointments.id))
      .limit(1);
    return row;
  }

  /** Whether `userId` is the practitioner of any appointment of the patient. */
  async hasPractitioner(patientId: string, userId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: appointments.id })
      .from(appointments)
      .where(this.where(appointments, eq(appointments.patientId, patientId), eq(appointments.practitionerId, userId)))
      .limit(1);
    return row !== undefined;
  }
}
