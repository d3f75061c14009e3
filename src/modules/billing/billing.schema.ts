import { sql } from 'drizzle-orm';
import { type AnyPgColumn, check, integer, numeric, text } from 'drizzle-orm/pg-core';
import { users } from '../../platform/auth/auth.schema.js';
import { tenantIndex, tenantReference, tenantTable, timestampColumn } from '../../platform/db/tenant-table.js';
import { encounters } from '../encounters/encounters.schema.js';
import { patients } from '../patients/patients.schema.js';

const money = (name: string) => numeric(name, { precision: 18, scale: 2 });

/**
 * Invoices and credit notes (`kind`), draft -> issued -> paid | void. Totals are exact decimals
 * computed on the server from the lines; `amount_paid` is payments less refunds, and the checks keep
 * it between 0 and the total, so no race can overpay or over-refund. Issued documents are frozen:
 * a correction is a credit note that points at the invoice it corrects.
 */
export const invoices = tenantTable(
  'invoices',
  {
    patientId: text('patient_id').notNull(),
    encounterId: text('encounter_id'),
    kind: text('kind').notNull().default('invoice'),
    creditedInvoiceId: text('credited_invoice_id'),
    number: text('number'),
    status: text('status').notNull().default('draft'),
    currency: text('currency').notNull().default('USD'),
    subtotal: money('subtotal').notNull().default('0'),
    tax: money('tax').notNull().default('0'),
    total: money('total').notNull().default('0'),
    amountPaid: money('amount_paid').notNull().default('0'),
    amountCredited: money('amount_credited').notNull().default('0'),
    issuedAt: timestampColumn('issued_at'),
    dueAt: timestampColumn('due_at'),
    paidAt: timestampColumn('paid_at'),
    voidedAt: timestampColumn('voided_at'),
    voidReason: text('void_reason'),
    /** Why a credit note was issued (credit notes only). */
    creditReason: text('credit_reason'),
    createdBy: text('created_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('invoices_patient_idx').on(t.patientId, t.createdAt),
    tenantIndex('invoices_status_idx').on(t.status, t.issuedAt),
    tenantIndex('invoices_number_idx').unique().on(t.number),
    tenantReference('invoices_patient_fk', t.patientId, () => patients),
    tenantReference('invoices_encounter_fk', t.encounterId, () => encounters),
    // A credit note points at an invoice of the same organization.
    tenantReference(
      'invoices_credited_invoice_fk',
      t.creditedInvoiceId,
      (): { organizationId: AnyPgColumn; id: AnyPgColumn } => invoices,
    ),
    check('invoices_paid_check', sql`${t.amountPaid} >= 0 and ${t.amountPaid} + ${t.amountCredited} <= ${t.total}`),
  ],
);

/** Line items: line amounts are rounded to the cent once, per line (see the README's rounding rule). */
export const invoiceLines = tenantTable(
  'invoice_lines',
  {
    invoiceId: text('invoice_id').notNull(),
    position: integer('position').notNull(),
    serviceCode: text('service_code').notNull(),
    description: text('description').notNull(),
    quantity: numeric('quantity', { precision: 12, scale: 3 }).notNull(),
    unitPrice: money('unit_price').notNull(),
    taxRate: numeric('tax_rate', { precision: 6, scale: 3 }).notNull(),
    subtotal: money('subtotal').notNull(),
    tax: money('tax').notNull(),
    total: money('total').notNull(),
  },
  (t) => [
    tenantIndex('invoice_lines_invoice_position_idx').unique().on(t.invoiceId, t.position),
    tenantReference('invoice_lines_invoice_fk', t.invoiceId, () => invoices, 'cascade'),
  ],
);

/** Payments and refunds against an issued invoice (append-only). */
export const payments = tenantTable(
  'payments',
  {
    invoiceId: text('invoice_id').notNull(),
    patientId: text('patient_id').notNull(),
    kind: text('kind').notNull().default('payment'),
    amount: money('amount').notNull(),
    method: text('method'),
    reference: text('reference'),
    /** Why money was refunded (refunds only). */
    reason: text('reason'),
    recordedBy: text('recorded_by')
      .notNull()
      .references(() => users.id),
  },
  (t) => [
    tenantIndex('payments_invoice_idx').on(t.invoiceId, t.createdAt),
    tenantReference('payments_invoice_fk', t.invoiceId, () => invoices),
    tenantReference('payments_patient_fk', t.patientId, () => patients),
    check('payments_amount_check', sql`${t.amount} > 0`),
  ],
);
