import { and, asc, eq, gt, inArray, isNull, min, or, sql } from 'drizzle-orm';
import { members, users } from '../../platform/auth/auth.schema.js';
import { organizationCounters } from '../../platform/db/counters.schema.js';
import type { Db } from '../../platform/db/database.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Role } from '../../platform/permissions.js';
import { shifts } from '../staff/staff.schema.js';
import { alertEvents, alertTimeline } from './alerts.schema.js';

export type NewTimelineEntry = { alertId: string; type: string; actorId: string | null; detail?: object; at: Date };
export type NewAlertEvent = Omit<typeof alertEvents.$inferInsert, 'organizationId' | 'id'>;

/** A member on duty now: where, and in which role. */
export interface OnDuty {
  userId: string;
  role: Role;
  hospitalId: string;
  unitId: string;
}

/**
 * All SQL on what alerts tell and record besides themselves: their append-only timelines, the
 * numbered event feed, and who is on duty to be told.
 */
export class AlertNewsRepository extends TenantRepository {
  /** Rows in the given order (an alert's rows keep the order they are given in). */
  async appendTimeline(entries: NewTimelineEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.insert(alertTimeline).values(
      entries.map((entry) =>
        this.owned({
          alertId: entry.alertId,
          type: entry.type,
          actorId: entry.actorId,
          detail: (entry.detail ?? null) as Record<string, unknown> | null,
          createdAt: entry.at,
          updatedAt: entry.at,
        }),
      ),
    );
  }

  timelineOf(alertId: string) {
    return this.db
      .select()
      .from(alertTimeline)
      .where(this.where(alertTimeline, eq(alertTimeline.alertId, alertId)))
      .orderBy(asc(alertTimeline.position));
  }

  async appendEvents(events: NewAlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.insert(alertEvents).values(events.map((event) => this.owned(event)));
  }

  /** Events after `seq`, oldest first (one more than `limit`: whether there is a next page). */
  eventsAfter(seq: number, limit: number) {
    return this.db
      .select()
      .from(alertEvents)
      .where(this.where(alertEvents, gt(alertEvents.seq, seq)))
      .orderBy(asc(alertEvents.seq))
      .limit(limit + 1);
  }

  /**
   * Whether events after `seq` were deleted by the retention job: the oldest kept is later than the
   * next one (the numbers have no gaps: a rolled-back write gives its number back), or none is kept
   * although some were numbered.
   */
  async prunedAfter(seq: number, counter: string): Promise<boolean> {
    const [oldest] = await this.db
      .select({ seq: min(alertEvents.seq) })
      .from(alertEvents)
      .where(this.where(alertEvents));
    if (oldest?.seq != null) return oldest.seq > seq + 1;
    const [numbered] = await this.db
      .select({ value: organizationCounters.value })
      .from(organizationCounters)
      .where(and(eq(organizationCounters.organizationId, this.organizationId), eq(organizationCounters.name, counter)));
    return (numbered?.value ?? 0) > seq;
  }

  /**
   * Members on a shift now, of this organization still, who may be told of alerts in these units:
   * nurses and doctors in the units, managers anywhere in the hospitals.
   */
  async onDuty(hospitalIds: string[], unitIds: string[]): Promise<OnDuty[]> {
    if (unitIds.length === 0) return [];
    const rows = await this.db
      .selectDistinct({
        userId: shifts.userId,
        role: shifts.role,
        hospitalId: shifts.hospitalId,
        unitId: shifts.unitId,
      })
      .from(shifts)
      .innerJoin(members, and(eq(members.organizationId, shifts.organizationId), eq(members.userId, shifts.userId)))
      .where(
        this.where(
          shifts,
          isNull(shifts.endedAt),
          or(
            and(inArray(shifts.unitId, [...new Set(unitIds)]), inArray(shifts.role, ['nurse', 'doctor'])),
            and(inArray(shifts.hospitalId, [...new Set(hospitalIds)]), eq(shifts.role, 'manager')),
          ),
        ),
      );
    return rows as OnDuty[];
  }

  /** Every manager of the organization (the last tier reaches them when none is on duty; so does an alert that reached nobody). */
  async managers(): Promise<string[]> {
    const rows = await this.db
      .select({ userId: members.userId })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(this.where(members, eq(members.role, 'manager')));
    return rows.map((row) => row.userId);
  }
}

/**
 * Deletes up to `limit` alert events (of every organization) numbered at or below the last one each
 * organization wrote before `before`: the daily `alerts.prune` job. Always a prefix of each feed in
 * `seq` order (an event is timed when its write starts but numbered at its end, so by time alone a
 * later number could go before an earlier one), so the oldest kept event says what is gone. The
 * feed's trigger lets only this delete through (it says so in its transaction).
 */
export async function pruneAlertEvents(db: Db, before: Date, limit = 5_000): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('wardline.pruning', 'alert_events', true)`);
    const result: unknown = await tx.execute(sql`
      with upto as (
        select organization_id, max(seq) as seq from alert_events
        where created_at < ${before.toISOString()} group by organization_id
      ), old as (
        select e.id from alert_events e join upto u on u.organization_id = e.organization_id and e.seq <= u.seq
        order by e.organization_id, e.seq
        limit ${limit}
      )
      delete from alert_events where id in (select id from old) returning id
    `);
    return (result as { rows: unknown[] }).rows.length;
  });
}
