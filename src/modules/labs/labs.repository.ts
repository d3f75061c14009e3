import { and, asc, eq, ilike, inArray, isNotNull, ne, or, type SQL } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import type { LabFlag } from './lab-flag.js';
import type { LabOrderStatus } from './lab-order-status.js';
import { labOrderEvents, labOrders, labTests } from './labs.schema.js';
import type { LabFlagFilter } from './labs.shapes.js';

export type LabTestRow = typeof labTests.$inferSelect;
export type LabOrderRow = typeof labOrders.$inferSelect;
export type LabOrderEventRow = typeof labOrderEvents.$inferSelect;
/** An order with what it shows of its test. */
export type LabOrderWithTest = LabOrderRow & { test: { code: string; name: string; unit: string } };

type LabTestValues = Pick<
  LabTestRow,
  'code' | 'name' | 'unit' | 'referenceLow' | 'referenceHigh' | 'criticalLow' | 'criticalHigh' | 'active'
>;

/** `%` and `_` taken literally in a LIKE pattern. */
const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** All SQL on the lab test catalog. */
export class LabTestsRepository extends TenantRepository {
  async insert(values: LabTestValues & { at: Date }): Promise<LabTestRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(labTests)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  async find(id: string, lock = false): Promise<LabTestRow | undefined> {
    const query = this.db
      .select()
      .from(labTests)
      .where(this.where(labTests, eq(labTests.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async update(id: string, patch: Partial<LabTestValues> & { updatedAt: Date }): Promise<LabTestRow> {
    const [row] = await this.db
      .update(labTests)
      .set(patch)
      .where(this.where(labTests, eq(labTests.id, id)))
      .returning();
    return row!;
  }

  list(filter: { q?: string; active?: boolean }, limit: number, cursor: Cursor | undefined): Promise<LabTestRow[]> {
    const pattern = filter.q === undefined ? undefined : `%${literal(filter.q)}%`;
    return this.db
      .select()
      .from(labTests)
      .where(
        this.where(
          labTests,
          pattern ? or(ilike(labTests.name, pattern), ilike(labTests.code, pattern)) : undefined,
          filter.active === undefined ? undefined : eq(labTests.active, filter.active),
          afterCursor(labTests.createdAt, labTests.id, cursor),
        ),
      )
      .orderBy(asc(labTests.createdAt), asc(labTests.id))
      .limit(limit + 1);
  }
}

export interface NewLabOrder {
  patientId: string;
  encounterId: string | null;
  testId: string;
  orderedBy: string;
  priority: string;
  notes: string | null;
  at: Date;
}

/** The columns a step of the machine sets besides the status. */
export type LabOrderChanges = Partial<
  Pick<
    LabOrderRow,
    | 'collectedAt'
    | 'collectedBy'
    | 'startedAt'
    | 'resultValue'
    | 'resultUnit'
    | 'resultFlag'
    | 'resultRanges'
    | 'resultedAt'
    | 'resultedBy'
    | 'reviewedAt'
    | 'reviewedBy'
    | 'cancelledAt'
    | 'cancelReason'
  >
>;

function flagCondition(flag: LabFlagFilter | undefined): SQL | undefined {
  if (flag === undefined) return undefined;
  if (flag === 'critical') return inArray(labOrders.resultFlag, ['critical-low', 'critical-high'] satisfies LabFlag[]);
  if (flag === 'abnormal') return and(isNotNull(labOrders.resultFlag), ne(labOrders.resultFlag, 'normal'));
  return eq(labOrders.resultFlag, flag);
}

const testColumns = { code: labTests.code, name: labTests.name, unit: labTests.unit };

/** All SQL on lab orders and their timelines. */
export class LabOrdersRepository extends TenantRepository {
  async insert(values: NewLabOrder): Promise<LabOrderRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(labOrders)
      .values(this.owned({ ...rest, status: 'ordered', createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  /** One order with its test's code, name and unit; `lock` holds the order (not the test) until the transaction ends. */
  async findWithTest(id: string, lock = false): Promise<LabOrderWithTest | undefined> {
    const query = this.db
      .select({ order: labOrders, test: testColumns })
      .from(labOrders)
      .innerJoin(
        labTests,
        and(eq(labTests.organizationId, labOrders.organizationId), eq(labTests.id, labOrders.testId)),
      )
      .where(this.where(labOrders, eq(labOrders.id, id)));
    const [row] = lock ? await query.for('update', { of: labOrders }) : await query;
    return row && { ...row.order, test: row.test };
  }

  async list(
    filter: { patientId?: string; encounterId?: string; status?: LabOrderStatus; flag?: LabFlagFilter },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<LabOrderWithTest[]> {
    const rows = await this.db
      .select({ order: labOrders, test: testColumns })
      .from(labOrders)
      .innerJoin(
        labTests,
        and(eq(labTests.organizationId, labOrders.organizationId), eq(labTests.id, labOrders.testId)),
      )
      .where(
        this.where(
          labOrders,
          filter.patientId ? eq(labOrders.patientId, filter.patientId) : undefined,
          filter.encounterId ? eq(labOrders.encounterId, filter.encounterId) : undefined,
          filter.status ? eq(labOrders.status, filter.status) : undefined,
          flagCondition(filter.flag),
          afterCursor(labOrders.createdAt, labOrders.id, cursor),
        ),
      )
      .orderBy(asc(labOrders.createdAt), asc(labOrders.id))
      .limit(limit + 1);
    return rows.map((row) => ({ ...row.order, test: row.test }));
  }

  /** Moves the order to `status` from `from` (the status it was read in, locked), with the step's columns. */
  async advance(id: string, from: LabOrderStatus, status: LabOrderStatus, changes: LabOrderChanges, at: Date) {
    const [row] = await this.db
      .update(labOrders)
      .set({ ...changes, status, updatedAt: at })
      .where(this.where(labOrders, eq(labOrders.id, id), eq(labOrders.status, from)))
      .returning();
    return row;
  }

  async appendEvent(values: {
    orderId: string;
    type: string;
    actorId: string | null;
    detail: Record<string, unknown> | null;
    at: Date;
  }): Promise<LabOrderEventRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(labOrderEvents)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  eventsOf(orderId: string): Promise<LabOrderEventRow[]> {
    return this.db
      .select()
      .from(labOrderEvents)
      .where(this.where(labOrderEvents, eq(labOrderEvents.orderId, orderId)))
      .orderBy(asc(labOrderEvents.createdAt), asc(labOrderEvents.id));
  }
}
