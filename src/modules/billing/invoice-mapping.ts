/** Invoice rows as the API answers them, and lines priced by the rounding rule (money.ts). */
import { AppError } from '../../platform/http/errors.js';
import type { InvoiceLineRow, InvoiceRow, NewLine, PaymentRow } from './billing.repository.js';
import type { InvoiceSummary, LineInput } from './billing.shapes.js';
import { isInvoiceStatus } from './invoice-status.js';
import { Decimal, documentTotals, lineAmounts, MAX_AMOUNT, money, plainDecimal } from './money.js';

export function toSummary(row: InvoiceRow): InvoiceSummary {
  if (!isInvoiceStatus(row.status)) throw new Error(`invoice ${row.id} has an unknown status`);
  const balanceDue =
    row.kind === 'invoice' ? new Decimal(row.total).minus(row.amountPaid).minus(row.amountCredited) : 0;
  return {
    id: row.id,
    kind: row.kind === 'credit-note' ? 'credit-note' : 'invoice',
    number: row.number,
    status: row.status,
    patientId: row.patientId,
    encounterId: row.encounterId,
    creditedInvoiceId: row.creditedInvoiceId,
    currency: row.currency,
    subtotal: money(row.subtotal),
    tax: money(row.tax),
    total: money(row.total),
    amountPaid: money(row.amountPaid),
    amountCredited: money(row.amountCredited),
    balanceDue: money(balanceDue),
    issuedAt: row.issuedAt,
    dueAt: row.dueAt,
    paidAt: row.paidAt,
    voidedAt: row.voidedAt,
    voidReason: row.voidReason,
    creditReason: row.creditReason,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const toLine = (row: InvoiceLineRow) => ({
  id: row.id,
  position: row.position,
  serviceCode: row.serviceCode,
  description: row.description,
  quantity: plainDecimal(row.quantity),
  unitPrice: money(row.unitPrice),
  taxRate: plainDecimal(row.taxRate),
  subtotal: money(row.subtotal),
  tax: money(row.tax),
  total: money(row.total),
});

export const toPayment = (row: PaymentRow) => ({
  id: row.id,
  kind: row.kind === 'refund' ? ('refund' as const) : ('payment' as const),
  amount: money(row.amount),
  method: row.method,
  reference: row.reference,
  reason: row.reason,
  recordedBy: row.recordedBy,
  createdAt: row.createdAt,
});

/** Lines priced by the rounding rule (money.ts), and the document's totals; 400 past what a column holds. */
export function priced(lines: LineInput[]) {
  const amounts = lines.map((line) => lineAmounts(line));
  const totals = documentTotals(amounts);
  if (totals.total.gt(MAX_AMOUNT)) {
    throw new AppError('VALIDATION_FAILED', 'the invoice total is too large', [
      { path: 'body.lines', message: `the total must be at most ${money(MAX_AMOUNT)}` },
    ]);
  }
  const rows: NewLine[] = lines.map((line, position) => ({
    position,
    serviceCode: line.serviceCode,
    description: line.description,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    taxRate: line.taxRate,
    subtotal: money(amounts[position]!.subtotal),
    tax: money(amounts[position]!.tax),
    total: money(amounts[position]!.total),
  }));
  return {
    rows,
    totals: { subtotal: money(totals.subtotal), tax: money(totals.tax), total: money(totals.total) },
  };
}
