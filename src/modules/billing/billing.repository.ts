import { asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { invoiceLines, invoices, payments } from './billing.schema.js';
import type { InvoiceStatus } from './invoice-status.js';

export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type NewInvoice = Omit<typeof invoices.$inferInsert, 'organizationId'>;
export type NewLine = Omit<typeof invoiceLines.$inferInsert, 'organizationId' | 'invoiceId'>;
export type NewPayment = Omit<typeof payments.$inferInsert, 'organizationId'>;

export interface InvoiceFilter {
  patientId?: string;
  encounterId?: string;
  status?: string;
  kind?: string;
}

/** balance due = total - paid - credited, in SQL, on the row as it is when the statement runs. */
const balance = sql`(${invoices.total} - ${invoices.amountPaid} - ${invoices.amountCredited})`;

/** All SQL on invoices, credit notes, their lines and payments. */
export class BillingRepository extends TenantRepository {
  async insert(values: NewInvoice): Promise<InvoiceRow> {
    const [row] = await this.db.insert(invoices).values(this.owned(values)).returning();
    return row!;
  }

  async find(id: string, options: { lock?: boolean } = {}): Promise<InvoiceRow | undefined> {
    const query = this.db
      .select()
      .from(invoices)
      .where(this.where(invoices, eq(invoices.id, id)));
    const [row] = options.lock ? await query.for('update') : await query;
    return row;
  }

  async update(id: string, changes: Partial<NewInvoice>, now: Date): Promise<InvoiceRow> {
    const [row] = await this.db
      .update(invoices)
      .set({ ...changes, updatedAt: now })
      .where(this.where(invoices, eq(invoices.id, id)))
      .returning();
    return row!;
  }

  list(filter: InvoiceFilter, limit: number, cursor: Cursor | undefined): Promise<InvoiceRow[]> {
    const conditions: (SQL | undefined)[] = [
      filter.patientId ? eq(invoices.patientId, filter.patientId) : undefined,
      filter.encounterId ? eq(invoices.encounterId, filter.encounterId) : undefined,
      filter.status ? eq(invoices.status, filter.status) : undefined,
      filter.kind ? eq(invoices.kind, filter.kind) : undefined,
      afterCursor(invoices.createdAt, invoices.id, cursor),
    ];
    return this.db
      .select()
      .from(invoices)
      .where(this.where(invoices, ...conditions))
      .orderBy(asc(invoices.createdAt), asc(invoices.id))
      .limit(limit + 1);
  }

  lines(invoiceId: string): Promise<InvoiceLineRow[]> {
    return this.db
      .select()
      .from(invoiceLines)
      .where(this.where(invoiceLines, eq(invoiceLines.invoiceId, invoiceId)))
      .orderBy(asc(invoiceLines.position));
  }

  async replaceLines(invoiceId: string, lines: NewLine[]): Promise<void> {
    await this.db.delete(invoiceLines).where(this.where(invoiceLines, eq(invoiceLines.invoiceId, invoiceId)));
    await this.insertLines(invoiceId, lines);
  }

  async insertLines(invoiceId: string, lines: NewLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.db.insert(invoiceLines).values(lines.map((line) => this.owned({ ...line, invoiceId })));
  }

  payments(invoiceId: string): Promise<PaymentRow[]> {
    return this.db
      .select()
      .from(payments)
      .where(this.where(payments, eq(payments.invoiceId, invoiceId)))
      .orderBy(asc(payments.createdAt), asc(payments.id));
  }

  async insertPayment(values: NewPayment): Promise<PaymentRow> {
    const [row] = await this.db.insert(payments).values(this.owned(values)).returning();
    return row!;
  }

  creditNotes(invoiceId: string): Promise<InvoiceRow[]> {
    return this.db
      .select()
      .from(invoices)
      .where(this.where(invoices, eq(invoices.creditedInvoiceId, invoiceId)))
      .orderBy(asc(invoices.createdAt), asc(invoices.id));
  }

  /**
   * Adds `amount` to what was paid, in one conditional UPDATE: only an invoice in one of `from`
   * whose balance covers the amount changes. Concurrent payments queue on the row and each sees the
   * one before it, so together they can never pay more than the total (the table's check is the
   * backstop). Status becomes `paid` when the balance reaches 0. Undefined when nothing changed.
   */
  async addPayment(id: string, amount: string, from: InvoiceStatus[], now: Date): Promise<InvoiceRow | undefined> {
    const settles = sql`${balance} = ${amount}::numeric`;
    const [row] = await this.db
      .update(invoices)
      .set({
        amountPaid: sql`${invoices.amountPaid} + ${amount}::numeric`,
        status: sql`case when ${settles} then 'paid' else ${invoices.status} end`,
        paidAt: sql`case when ${settles} then ${now.toISOString()}::timestamptz else ${invoices.paidAt} end`,
        updatedAt: now,
      })
      .where(
        this.where(
          invoices,
          eq(invoices.id, id),
          eq(invoices.kind, 'invoice'),
          inArray(invoices.status, from),
          sql`${balance} >= ${amount}::numeric`,
        ),
      )
      .returning();
    return row;
  }

  /** Takes `amount` off what was paid, if that much was paid; a paid invoice is issued again. */
  async subtractPayment(id: string, amount: string, from: InvoiceStatus[], now: Date): Promise<InvoiceRow | undefined> {
    const [row] = await this.db
      .update(invoices)
      .set({
        amountPaid: sql`${invoices.amountPaid} - ${amount}::numeric`,
        status: 'issued',
        paidAt: null,
        updatedAt: now,
      })
      .where(
        this.where(
          invoices,
          eq(invoices.id, id),
          eq(invoices.kind, 'invoice'),
          inArray(invoices.status, from),
          sql`${invoices.amountPaid} >= ${amount}::numeric`,
        ),
      )
      .returning();
    return row;
  }

  /** Adds a credit note's `amount` to what was credited, if the balance covers it; paid at a balance of 0. */
  async addCredit(id: string, amount: string, from: InvoiceStatus[], now: Date): Promise<InvoiceRow | undefined> {
    const settles = sql`${balance} = ${amount}::numeric`;
    const [row] = await this.db
      .update(invoices)
      .set({
        amountCredited: sql`${invoices.amountCredited} + ${amount}::numeric`,
        status: sql`case when ${settles} then 'paid' else ${invoices.status} end`,
        paidAt: sql`case when ${settles} then ${now.toISOString()}::timestamptz else ${invoices.paidAt} end`,
        updatedAt: now,
      })
      .where(
        this.where(
          invoices,
          eq(invoices.id, id),
          eq(invoices.kind, 'invoice'),
          inArray(invoices.status, from),
          sql`${balance} >= ${amount}::numeric`,
        ),
      )
      .returning();
    return row;
  }

  /**
   * Unpaid balances of issued invoices by how far past due they are at `now`: `current` (not yet
   * due), then 1-30, 31-60, 61-90 and 90+ days (a part of a day counts as a day).
   */
  async receivables(now: Date): Promise<{ bucket: string; count: number; amount: string }[]> {
    const at = sql`${now.toISOString()}::timestamptz`;
    const bucket = sql<string>`case
      when ${invoices.dueAt} is null or ${invoices.dueAt} >= ${at} then 'current'
      when ${invoices.dueAt} >= ${at} - interval '30 days' then '1-30'
      when ${invoices.dueAt} >= ${at} - interval '60 days' then '31-60'
      when ${invoices.dueAt} >= ${at} - interval '90 days' then '61-90'
      else '90+' end`;
    return this.db
      .select({
        bucket,
        count: sql<number>`count(*)::int`,
        amount: sql<string>`coalesce(sum(${balance}), 0)::text`,
      })
      .from(invoices)
      .where(this.where(invoices, eq(invoices.status, 'issued'), eq(invoices.kind, 'invoice'), sql`${balance} > 0`))
      .groupBy(sql`1`);
  }
}
