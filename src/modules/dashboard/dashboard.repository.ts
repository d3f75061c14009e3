import { sql } from 'drizzle-orm';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import { hospitals } from '../hospitals/hospitals.schema.js';

/** The day the dashboard counts appointments for, in a time zone. */
export interface DashboardDay {
  date: string;
  timezone: string;
}

export interface DashboardRow {
  patients: number;
  appointmentsByStatus: Record<string, number> | null;
  openEncounters: number;
  pendingLabResults: number;
  criticalLabResults: number;
  lowStockItems: number;
  unpaidInvoices: number;
  unpaidTotal: string;
  unstaffedUnits: { unitId: string; unitName: string; missing: ('nurse' | 'doctor')[] }[];
}

/** Lab orders still waiting for a result, and critical results nobody has reviewed yet. */
const PENDING_LAB = sql.raw(`('ordered', 'collected', 'in-progress')`);
const CRITICAL_FLAGS = sql.raw(`('critical-low', 'critical-high')`);

/**
 * One statement, one round trip: every figure is a scalar subquery on an index that starts with
 * the organization (see the migrations' *_status_idx, *_flag_idx, the partial stock_levels_low_idx and
 * appointments_start_idx). With a hospital, figures follow the hospital's records: patients by their
 * primary hospital, appointments and encounters by theirs, lab orders and invoices through their
 * encounter, stock through its location.
 */
export class DashboardRepository extends TenantRepository {
  async defaultZone(): Promise<string | undefined> {
    const [row] = await this.db
      .select({ timezone: hospitals.timezone })
      .from(hospitals)
      .where(this.where(hospitals, sql`${hospitals.isDefault}`));
    return row?.timezone;
  }

  async stats(day: DashboardDay, hospitalId: string | null): Promise<DashboardRow> {
    const org = this.organizationId;
    const inHospital = (column: string) => (hospitalId ? sql`and ${sql.raw(column)} = ${hospitalId}` : sql``);
    const viaEncounter = (alias: string) =>
      hospitalId
        ? sql`and exists (select 1 from encounters e where e.organization_id = ${org} and e.id = ${sql.raw(alias)}.encounter_id and e.hospital_id = ${hospitalId})`
        : sql``;
    // A member of the organization on a shift now in the unit, in the role (shifts_open_unit_idx).
    const onDuty = (unit: string, role: string) =>
      sql`select 1 from shifts s join members m on m.organization_id = s.organization_id and m.user_id = s.user_id
        where s.organization_id = ${org} and s.unit_id = ${sql.raw(unit)}.id and s.ended_at is null and s.role = ${role}`;
    const dayStart = sql`(${day.date}::date::timestamp at time zone ${day.timezone})`;
    const dayEnd = sql`((${day.date}::date + 1)::timestamp at time zone ${day.timezone})`;
    const result: unknown = await this.db.execute(sql`
      select
        (select count(*)::int from patients p
          where p.organization_id = ${org} and p.status = 'active' ${inHospital('p.primary_hospital_id')}) as "patients",
        (select jsonb_object_agg(status, n) from (
          select a.status, count(*)::int as n from appointments a
          where a.organization_id = ${org} and a.starts_at >= ${dayStart} and a.starts_at < ${dayEnd}
            ${inHospital('a.hospital_id')}
          group by a.status) s) as "appointmentsByStatus",
        (select count(*)::int from encounters en
          where en.organization_id = ${org} and en.status = 'open' ${inHospital('en.hospital_id')}) as "openEncounters",
        (select count(*)::int from lab_orders lo
          where lo.organization_id = ${org} and lo.status in ${PENDING_LAB} ${viaEncounter('lo')}) as "pendingLabResults",
        (select count(*)::int from lab_orders lo
          where lo.organization_id = ${org} and lo.result_flag in ${CRITICAL_FLAGS} and lo.status = 'resulted'
            ${viaEncounter('lo')}) as "criticalLabResults",
        (select count(*)::int from stock_levels sl
          where sl.organization_id = ${org} and sl.on_hand <= sl.low_stock_threshold
            ${hospitalId ? sql`and exists (select 1 from pharmacy_locations pl where pl.organization_id = ${org} and pl.id = sl.location_id and pl.hospital_id = ${hospitalId})` : sql``}) as "lowStockItems",
        (select count(*)::int from invoices i
          where i.organization_id = ${org} and i.status = 'issued' and i.kind = 'invoice' ${viaEncounter('i')}) as "unpaidInvoices",
        (select coalesce(sum(i.total - i.amount_paid - i.amount_credited), 0)::numeric(18,2)::text from invoices i
          where i.organization_id = ${org} and i.status = 'issued' and i.kind = 'invoice' ${viaEncounter('i')}) as "unpaidTotal",
        (select coalesce(jsonb_agg(jsonb_build_object('unitId', u.id, 'unitName', u.name, 'missing', g.missing)
            order by u.name, u.id), '[]'::jsonb)
          from units u
          cross join lateral (select array_remove(array[
            case when not exists (${onDuty('u', 'nurse')}) then 'nurse' end,
            case when not exists (${onDuty('u', 'doctor')}) then 'doctor' end], null) as missing) g
          where u.organization_id = ${org} and u.active ${inHospital('u.hospital_id')}
            and cardinality(g.missing) > 0) as "unstaffedUnits"
    `);
    // Both drivers answer `{ rows }`.
    return (result as { rows: DashboardRow[] }).rows[0]!;
  }
}
