import { and, asc, desc, eq, gte, inArray, isNull, lte, ne, or, type SQL, sql } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { coverages, insurers, priorAuthorizations } from './insurance.schema.js';
import { OPEN_PRIOR_AUTH_STATUSES } from './prior-authorization-status.js';

export type InsurerRow = typeof insurers.$inferSelect;
export type CoverageRow = typeof coverages.$inferSelect;
export type PriorAuthorizationRow = typeof priorAuthorizations.$inferSelect;
type Insert<T extends { $inferInsert: object }> = Omit<T['$inferInsert'], 'organizationId'>;

/** All SQL on insurers, coverages and prior authorizations. */
export class InsuranceRepository extends TenantRepository {
  async insertInsurer(values: Insert<typeof insurers>): Promise<InsurerRow> {
    const [row] = await this.db.insert(insurers).values(this.owned(values)).returning();
    return row!;
  }

  async findInsurer(id: string): Promise<InsurerRow | undefined> {
    const [row] = await this.db
      .select()
      .from(insurers)
      .where(this.where(insurers, eq(insurers.id, id)));
    return row;
  }

  async updateInsurer(id: string, values: Partial<Insert<typeof insurers>>): Promise<InsurerRow | undefined> {
    const [row] = await this.db
      .update(insurers)
      .set(values)
      .where(this.where(insurers, eq(insurers.id, id)))
      .returning();
    return row;
  }

  listInsurers(limit: number, cursor: Cursor | undefined, active?: boolean): Promise<InsurerRow[]> {
    return this.db
      .select()
      .from(insurers)
      .where(
        this.where(
          insurers,
          active === undefined ? undefined : eq(insurers.active, active),
          afterCursor(insurers.createdAt, insurers.id, cursor),
        ),
      )
      .orderBy(asc(insurers.createdAt), asc(insurers.id))
      .limit(limit + 1);
  }

  async insertCoverage(values: Insert<typeof coverages>): Promise<CoverageRow> {
    const [row] = await this.db.insert(coverages).values(this.owned(values)).returning();
    return row!;
  }

  async findCoverage(id: string, lock = false): Promise<CoverageRow | undefined> {
    const query = this.db
      .select()
      .from(coverages)
      .where(this.where(coverages, eq(coverages.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async updateCoverage(id: string, values: Partial<Insert<typeof coverages>>): Promise<CoverageRow> {
    const [row] = await this.db
      .update(coverages)
      .set(values)
      .where(this.where(coverages, eq(coverages.id, id)))
      .returning();
    return row!;
  }

  listCoverages(
    filter: { patientId?: string; active?: boolean },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<CoverageRow[]> {
    return this.db
      .select()
      .from(coverages)
      .where(
        this.where(
          coverages,
          filter.patientId ? eq(coverages.patientId, filter.patientId) : undefined,
          filter.active === undefined ? undefined : eq(coverages.active, filter.active),
          afterCursor(coverages.createdAt, coverages.id, cursor),
        ),
      )
      .orderBy(asc(coverages.createdAt), asc(coverages.id))
      .limit(limit + 1);
  }

  /** An active coverage of the patient with `priority` whose dates (inclusive) overlap the range. */
  async overlappingCoverage(range: {
    patientId: string;
    priority: string;
    validFrom: string;
    validTo: string | null;
    excludeId?: string;
  }): Promise<CoverageRow | undefined> {
    const [row] = await this.db
      .select()
      .from(coverages)
      .where(
        this.where(
          coverages,
          eq(coverages.patientId, range.patientId),
          eq(coverages.priority, range.priority),
          eq(coverages.active, true),
          range.validTo ? lte(coverages.validFrom, range.validTo) : undefined,
          or(isNull(coverages.validTo), gte(coverages.validTo, range.validFrom)),
          range.excludeId ? ne(coverages.id, range.excludeId) : undefined,
        ),
      )
      .orderBy(asc(coverages.validFrom))
      .limit(1);
    return row;
  }

  async insertPriorAuthorization(values: Insert<typeof priorAuthorizations>): Promise<PriorAuthorizationRow> {
    const [row] = await this.db.insert(priorAuthorizations).values(this.owned(values)).returning();
    return row!;
  }

  async findPriorAuthorization(id: string, lock = false): Promise<PriorAuthorizationRow | undefined> {
    const query = this.db
      .select()
      .from(priorAuthorizations)
      .where(this.where(priorAuthorizations, eq(priorAuthorizations.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async updatePriorAuthorization(
    id: string,
    values: Partial<Insert<typeof priorAuthorizations>>,
  ): Promise<PriorAuthorizationRow> {
    const [row] = await this.db
      .update(priorAuthorizations)
      .set(values)
      .where(this.where(priorAuthorizations, eq(priorAuthorizations.id, id)))
      .returning();
    return row!;
  }

  /** The prescription's open (draft or submitted) request, if any. */
  async openPriorAuthorization(prescriptionId: string): Promise<PriorAuthorizationRow | undefined> {
    const pa = priorAuthorizations;
    const [row] = await this.db
      .select()
      .from(pa)
      .where(this.where(pa, eq(pa.prescriptionId, prescriptionId), inArray(pa.status, OPEN_PRIOR_AUTH_STATUSES)))
      .limit(1);
    return row;
  }

  listPriorAuthorizations(
    filter: { prescriptionId?: string; patientId?: string; status?: string },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<PriorAuthorizationRow[]> {
    const pa = priorAuthorizations;
    const conditions: (SQL | undefined)[] = [
      filter.prescriptionId ? eq(pa.prescriptionId, filter.prescriptionId) : undefined,
      filter.patientId ? eq(pa.patientId, filter.patientId) : undefined,
      filter.status ? eq(pa.status, filter.status) : undefined,
      afterCursor(pa.createdAt, pa.id, cursor),
    ];
    return this.db
      .select()
      .from(pa)
      .where(this.where(pa, ...conditions))
      .orderBy(asc(pa.createdAt), asc(pa.id))
      .limit(limit + 1);
  }

  /**
   * Each prescription's latest request: the open one if there is one (there is at most one, and it
   * is always the newest), else the last created.
   */
  latestFor(prescriptionIds: string[]): Promise<{ prescriptionId: string; id: string; status: string }[]> {
    const pa = priorAuthorizations;
    return this.db
      .selectDistinctOn([pa.prescriptionId], { prescriptionId: pa.prescriptionId, id: pa.id, status: pa.status })
      .from(pa)
      .where(and(this.where(pa, inArray(pa.prescriptionId, prescriptionIds))))
      .orderBy(pa.prescriptionId, desc(sql`${pa.status} in ('draft', 'submitted')`), desc(pa.createdAt), desc(pa.id));
  }
}
