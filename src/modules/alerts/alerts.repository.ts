import { and, asc, desc, eq, getTableColumns, inArray, lt, lte, or, sql } from 'drizzle-orm';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { hospitals, rooms, units } from '../hospitals/hospitals.schema.js';
import { appointments } from '../appointments/appointments.schema.js';
import { encounters } from '../encounters/encounters.schema.js';
import { labOrderEvents, labOrders } from '../labs/labs.schema.js';
import { patients } from '../patients/patients.schema.js';
import type { ChannelChoice, EscalationRule } from './escalation-policy.js';
import { alerts, type alertTimeline, escalationPolicies } from './alerts.schema.js';

export type AlertRow = typeof alerts.$inferSelect;
export type NewAlert = Omit<typeof alerts.$inferInsert, 'organizationId' | 'id'>;
export type AlertChanges = Partial<
  Pick<
    AlertRow,
    | 'urgency'
    | 'priority'
    | 'policy'
    | 'status'
    | 'tier'
    | 'step'
    | 'nextEscalationAt'
    | 'acknowledgedAt'
    | 'acknowledgedBy'
    | 'silencedUntil'
    | 'resolvedAt'
    | 'resolvedBy'
    | 'resolution'
    | 'updatedAt'
  >
>;
/** The columns an escalation step may change. */
type TimerField =
  'status' | 'step' | 'tier' | 'acknowledgedAt' | 'acknowledgedBy' | 'silencedUntil' | 'nextEscalationAt';
export type TimelineRow = typeof alertTimeline.$inferSelect;
export type PolicyRow = typeof escalationPolicies.$inferSelect;

export interface AlertStatsRow {
  total: number;
  escalated: number;
  acknowledged: number;
  medianSeconds: number | null;
  p90Seconds: number | null;
  byUnit: { unitId: string; unitName: string; urgency: number; count: number }[];
}

/** What a hospital sets besides its escalation steps. */
export interface SavedPolicy {
  rules: EscalationRule[];
  ackTimeoutSeconds: number;
  channels: ChannelChoice | null;
  webhookUrl: string | null;
}

export interface AlertFilter {
  status?: string;
  hospitalId?: string;
  unitId?: string;
}

/** A room with its unit and hospital, as an alert is raised for it. */
export interface Location {
  hospitalId: string;
  hospitalName: string;
  unitId: string;
  unitName: string;
  roomId: string;
  roomName: string;
  active: boolean;
}

/** All SQL on one organization's alerts, their timelines, events, policies and in-app notifications. */
export class AlertsRepository extends TenantRepository {
  /** The room, if it is in this unit of this hospital (all of this organization). */
  async location(hospitalId: string, unitId: string, roomId: string): Promise<Location | undefined> {
    const found = (await this.locations([roomId])).get(roomId);
    return found?.unitId === unitId && found.hospitalId === hospitalId ? found : undefined;
  }

  /** The rooms of this organization given, each with its unit and hospital, by room id. */
  async locations(roomIds: string[]): Promise<Map<string, Location>> {
    const rows = await this.db
      .select({
        hospitalId: hospitals.id,
        hospitalName: hospitals.name,
        unitId: units.id,
        unitName: units.name,
        roomId: rooms.id,
        roomName: rooms.name,
        active: sql<boolean>`${hospitals.active} and ${units.active} and ${rooms.active}`,
      })
      .from(rooms)
      .innerJoin(units, and(eq(units.organizationId, rooms.organizationId), eq(units.id, rooms.unitId)))
      .innerJoin(hospitals, and(eq(hospitals.organizationId, rooms.organizationId), eq(hospitals.id, rooms.hospitalId)))
      .where(this.where(rooms, inArray(rooms.id, [...new Set(roomIds)])));
    return new Map(rows.map((row) => [row.roomId, row]));
  }

  /**
   * Where a lab order's patient is seen: the room of the appointment its encounter was opened from
   * (with the room's unit and hospital), or undefined.
   */
  async whereOrderIsSeen(orderId: string) {
    const [row] = await this.db
      .select({ hospitalId: rooms.hospitalId, unitId: rooms.unitId, roomId: rooms.id })
      .from(labOrders)
      .innerJoin(
        encounters,
        and(eq(encounters.organizationId, labOrders.organizationId), eq(encounters.id, labOrders.encounterId)),
      )
      .innerJoin(
        appointments,
        and(eq(appointments.organizationId, encounters.organizationId), eq(appointments.id, encounters.appointmentId)),
      )
      .innerJoin(rooms, and(eq(rooms.organizationId, appointments.organizationId), eq(rooms.id, appointments.roomId)))
      .where(this.where(labOrders, eq(labOrders.id, orderId)));
    return row;
  }

  /** A row on a lab order's timeline (what became of its critical result). */
  async noteOnLabOrder(orderId: string, type: string, detail: Record<string, unknown>, at: Date) {
    await this.db
      .insert(labOrderEvents)
      .values(this.owned({ orderId, type, actorId: null, detail, createdAt: at, updatedAt: at }));
  }

  /** The MRN of the patient (of this organization), or undefined. */
  async patientMrn(patientId: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ mrn: patients.mrn })
      .from(patients)
      .where(this.where(patients, eq(patients.id, patientId)));
    return row?.mrn;
  }

  async hospitalExists(hospitalId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: hospitals.id })
      .from(hospitals)
      .where(this.where(hospitals, eq(hospitals.id, hospitalId)));
    return row !== undefined;
  }

  async policyOf(hospitalId: string) {
    const [row] = await this.db
      .select()
      .from(escalationPolicies)
      .where(this.where(escalationPolicies, eq(escalationPolicies.hospitalId, hospitalId)));
    return row;
  }

  /** The policies the hospitals have set, by hospital id (one without its own has none here). */
  async policiesOf(hospitalIds: string[]): Promise<Map<string, PolicyRow>> {
    const rows = await this.db
      .select()
      .from(escalationPolicies)
      .where(this.where(escalationPolicies, inArray(escalationPolicies.hospitalId, [...new Set(hospitalIds)])));
    return new Map(rows.map((row) => [row.hospitalId, row]));
  }

  async savePolicy(hospitalId: string, policy: SavedPolicy, by: string, at: Date) {
    const p = escalationPolicies;
    const [row] = await this.db
      .insert(p)
      .values(this.owned({ hospitalId, ...policy, updatedBy: by, createdAt: at, updatedAt: at }))
      .onConflictDoUpdate({
        target: [p.organizationId, p.hospitalId],
        set: { ...policy, updatedBy: by, updatedAt: at },
      })
      .returning();
    return row!;
  }

  /**
   * Inserts the alert, or, when an open alert of the same (hospital, room, type) exists, counts the
   * repeat on it instead: one statement, so two racing raises leave one alert raised twice.
   */
  async raise(values: NewAlert, at: Date): Promise<{ row: AlertRow; created: boolean }> {
    const a = alerts;
    const [result] = await this.db
      .insert(a)
      .values(this.owned(values))
      .onConflictDoUpdate({
        target: [a.organizationId, a.hospitalId, a.roomId, a.type],
        targetWhere: sql`${a.status} <> 'resolved'`,
        set: { raisedCount: sql`${a.raisedCount} + 1`, lastRaisedAt: at, updatedAt: at },
      })
      .returning({ ...getTableColumns(a), created: sql<boolean>`(xmax = 0)` });
    const { created, ...row } = result!;
    return { row, created };
  }

  async find(id: string): Promise<AlertRow | undefined> {
    const [row] = await this.db
      .select()
      .from(alerts)
      .where(this.where(alerts, eq(alerts.id, id)));
    return row;
  }

  /**
   * The alert, locked until the transaction ends (every change of an alert takes this lock first).
   * NO KEY UPDATE: it does not wait for transactions that only add rows referring to the alert (a
   * delivery writing its timeline row holds a KEY SHARE lock on it).
   */
  async lock(id: string): Promise<AlertRow | undefined> {
    const [row] = await this.db
      .select()
      .from(alerts)
      .where(this.where(alerts, eq(alerts.id, id)))
      .for('no key update');
    return row;
  }

  /**
   * Those of the alerts whose timer is due at `now`, locked; an alert another process holds, or whose
   * timer is not due any more, is left out (SKIP LOCKED: two engines never fire one step twice).
   */
  claimDue(ids: string[], now: Date): Promise<AlertRow[]> {
    return this.db
      .select()
      .from(alerts)
      .where(this.where(alerts, inArray(alerts.id, ids), lte(alerts.nextEscalationAt, now)))
      .orderBy(asc(alerts.nextEscalationAt), asc(alerts.id))
      .for('no key update', { skipLocked: true });
  }

  async update(id: string, changes: AlertChanges): Promise<AlertRow> {
    const [row] = await this.db
      .update(alerts)
      .set(changes)
      .where(this.where(alerts, eq(alerts.id, id)))
      .returning();
    return row!;
  }
  /**
   * Writes each alert's whole timer state (status, step, tier, acknowledgement, silence, next
   * escalation) in one statement: what the escalation engine does to a batch of locked alerts.
   */
  async updateTimers(states: (Required<Pick<AlertChanges, TimerField>> & { id: string })[], at: Date) {
    if (states.length === 0) return [];
    const v = sql.raw('v');
    // jsonb_to_recordset takes its columns by name.
    const rows = JSON.stringify(
      states.map((s) => ({
        id: s.id,
        status: s.status,
        step: s.step,
        tier: s.tier,
        acknowledged_at: s.acknowledgedAt,
        acknowledged_by: s.acknowledgedBy,
        silenced_until: s.silencedUntil,
        next_escalation_at: s.nextEscalationAt,
      })),
    );
    return this.db
      .update(alerts)
      .set({
        status: sql`${v}.status`,
        step: sql`${v}.step`,
        tier: sql`${v}.tier`,
        acknowledgedAt: sql`${v}.acknowledged_at`,
        acknowledgedBy: sql`${v}.acknowledged_by`,
        silencedUntil: sql`${v}.silenced_until`,
        nextEscalationAt: sql`${v}.next_escalation_at`,
        updatedAt: at,
      })
      .from(
        sql`jsonb_to_recordset(${rows}::jsonb) as v(id text, status text, step int, tier int, acknowledged_at timestamptz, acknowledged_by text, silenced_until timestamptz, next_escalation_at timestamptz)`,
      )
      .where(this.where(alerts, eq(alerts.id, sql`${v}.id`)))
      .returning(getTableColumns(alerts));
  }

  async list(filter: AlertFilter, limit: number, cursor: Cursor | undefined) {
    const at = cursor && new Date(cursor.sort);
    const before =
      cursor && at ? or(lt(alerts.createdAt, at), and(eq(alerts.createdAt, at), lt(alerts.id, cursor.id))) : undefined;
    return this.db
      .select()
      .from(alerts)
      .where(
        this.where(
          alerts,
          filter.status ? eq(alerts.status, filter.status) : sql`${alerts.status} <> 'resolved'`,
          filter.hospitalId ? eq(alerts.hospitalId, filter.hospitalId) : undefined,
          filter.unitId ? eq(alerts.unitId, filter.unitId) : undefined,
          before,
        ),
      )
      .orderBy(desc(alerts.createdAt), desc(alerts.id))
      .limit(limit + 1);
  }

  /** Open alerts (every status but resolved), of one hospital or all: alerts_status_idx or alerts_hospital_status_idx. */
  async countOpen(hospitalId: string | null): Promise<number> {
    const [row] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(alerts)
      .where(
        this.where(
          alerts,
          inArray(alerts.status, ['active', 'acknowledged', 'silenced']),
          hospitalId ? eq(alerts.hospitalId, hospitalId) : undefined,
        ),
      );
    return row!.count;
  }

  /**
   * Alert analytics over alerts raised in [from, to]: per unit and urgency, the time from the raise to
   * the first acknowledgement (median and 90th percentile, in seconds), and the share that escalated.
   */
  async stats(from: Date, to: Date, hospitalId: string | null): Promise<AlertStatsRow> {
    const org = this.organizationId;
    const inHospital = hospitalId ? sql`and a.hospital_id = ${hospitalId}` : sql``;
    const result: unknown = await this.db.execute(sql`
      with raised as (
        select a.id, a.unit_id, a.urgency, a.step, a.created_at from alerts a
        where a.organization_id = ${org} and a.created_at >= ${from.toISOString()} and a.created_at <= ${to.toISOString()}
          ${inHospital}
      ), acked as (
        select r.id, extract(epoch from (min(t.created_at) - r.created_at))::float8 as seconds
        from raised r join alert_timeline t on t.organization_id = ${org} and t.alert_id = r.id and t.type = 'acknowledged'
        group by r.id, r.created_at
      )
      select
        (select count(*)::int from raised) as "total",
        (select count(*)::int from raised where step > 0) as "escalated",
        (select count(*)::int from acked) as "acknowledged",
        (select percentile_cont(0.5) within group (order by seconds) from acked) as "medianSeconds",
        (select percentile_cont(0.9) within group (order by seconds) from acked) as "p90Seconds",
        (select coalesce(jsonb_agg(jsonb_build_object('unitId', g.unit_id, 'unitName', u.name, 'urgency', g.urgency, 'count', g.n)
            order by u.name, g.urgency desc), '[]'::jsonb)
          from (select unit_id, urgency, count(*)::int as n from raised group by unit_id, urgency) g
          join units u on u.organization_id = ${org} and u.id = g.unit_id) as "byUnit"
    `);
    return (result as { rows: AlertStatsRow[] }).rows[0]!;
  }
}
