import { and, asc, eq, sql } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import type { PrescriptionStatus } from './prescription-status.js';
import { prescriptions } from './prescriptions.schema.js';

export type PrescriptionRow = typeof prescriptions.$inferSelect;
export type NewPrescription = Omit<
  typeof prescriptions.$inferInsert,
  'id' | 'organizationId' | 'createdAt' | 'updatedAt' | 'status' | 'dispensedQuantity'
>;

/** All SQL on prescriptions. */
export class PrescriptionsRepository extends TenantRepository {
  async insert(values: NewPrescription, at: Date): Promise<PrescriptionRow> {
    const [row] = await this.db
      .insert(prescriptions)
      .values(this.owned({ ...values, status: 'active', createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  /** One prescription; `lock` holds it (FOR UPDATE) until the transaction ends. */
  async find(id: string, lock = false): Promise<PrescriptionRow | undefined> {
    const query = this.db
      .select()
      .from(prescriptions)
      .where(this.where(prescriptions, eq(prescriptions.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  list(
    filter: { patientId?: string; status?: PrescriptionStatus },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<PrescriptionRow[]> {
    return this.db
      .select()
      .from(prescriptions)
      .where(
        this.where(
          prescriptions,
          filter.patientId ? eq(prescriptions.patientId, filter.patientId) : undefined,
          filter.status ? eq(prescriptions.status, filter.status) : undefined,
          afterCursor(prescriptions.createdAt, prescriptions.id, cursor),
        ),
      )
      .orderBy(asc(prescriptions.createdAt), asc(prescriptions.id))
      .limit(limit + 1);
  }

  /** Moves an active prescription to `status`; undefined when it was not active any more. */
  async close(
    id: string,
    status: 'completed' | 'cancelled',
    values: { by: string; reason?: string },
    at: Date,
  ): Promise<PrescriptionRow | undefined> {
    const [row] = await this.db
      .update(prescriptions)
      .set(
        status === 'completed'
          ? { status, completedAt: at, updatedAt: at }
          : { status, cancelledAt: at, cancelledBy: values.by, cancelReason: values.reason ?? null, updatedAt: at },
      )
      .where(this.where(prescriptions, eq(prescriptions.id, id), eq(prescriptions.status, 'active')))
      .returning();
    return row;
  }

  /**
   * Counts `quantity` more units dispensed, in one statement: only while the prescription is active and
   * the total stays within quantity x (refills + 1), so concurrent dispenses cannot exceed it. The
   * prescription completes with the dispense that reaches that total. Undefined when refused.
   */
  async addDispensed(id: string, quantity: number, at: Date): Promise<PrescriptionRow | undefined> {
    const total = sql`${prescriptions.dispensedQuantity} + ${quantity}`;
    const max = sql`${prescriptions.quantity} * (${prescriptions.refills} + 1)`;
    const [row] = await this.db
      .update(prescriptions)
      .set({
        dispensedQuantity: total,
        status: sql`case when ${total} >= ${max} then 'completed' else ${prescriptions.status} end`,
        completedAt: sql`case when ${total} >= ${max} then ${at.toISOString()}::timestamptz else ${prescriptions.completedAt} end`,
        updatedAt: at,
      })
      .where(
        this.where(
          prescriptions,
          and(eq(prescriptions.id, id), eq(prescriptions.status, 'active'), sql`${total} <= ${max}`),
        ),
      )
      .returning();
    return row;
  }
}
