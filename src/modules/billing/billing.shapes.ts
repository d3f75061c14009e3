/** Request and response shapes of billing (the tables are in billing.schema.ts). */
import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { Instant } from '../../platform/http/instant.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { INVOICE_KINDS, INVOICE_STATUSES } from './invoice-status.js';
import { MoneyString, PositiveMoney, QuantityString, TaxRateString } from './money.js';

/** The most lines one invoice or credit note has. */
export const MAX_LINES = 200;

const Amount = z.string().meta({ example: '107.24' }).describe('Money: a decimal string with two decimals.');

export const LineInput = z
  .strictObject({
    serviceCode: plainText(1, 40).describe('The billing code of the service (CPT, internal code...).'),
    description: plainText(1, 500),
    quantity: QuantityString.describe('A decimal string, more than 0, up to 3 decimals ("1", "0.5").'),
    unitPrice: MoneyString.describe('A decimal string, 0 or more, up to 2 decimals ("33.33").'),
    taxRate: TaxRateString.describe('Percent, a decimal string from 0 to 100, up to 3 decimals ("7.25").'),
  })
  .meta({ id: 'NewInvoiceLine' });
export type LineInput = z.infer<typeof LineInput>;

const Lines = z.array(LineInput).min(1).max(MAX_LINES);

export const CreateInvoice = z
  .strictObject({
    patientId: RecordId,
    encounterId: RecordId.optional().describe("The encounter billed (the patient's)."),
    lines: Lines,
  })
  .meta({ id: 'CreateInvoice' });
export type CreateInvoice = z.infer<typeof CreateInvoice>;

export const UpdateInvoice = z
  .strictObject({
    encounterId: RecordId.nullable().describe('Another encounter of the patient, or null for none.'),
    lines: Lines.describe('The new lines: they replace all the current ones.'),
  })
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'give lines, encounterId or both')
  .meta({ id: 'UpdateInvoice' });
export type UpdateInvoice = z.infer<typeof UpdateInvoice>;

export const IssueInvoice = z
  .strictObject({
    dueAt: Instant.optional().describe('When payment is due; by default 30 days after issue. Not before the issue.'),
  })
  .nullish();
export type IssueInvoice = z.infer<typeof IssueInvoice>;

export const VoidInvoice = z.strictObject({ reason: plainText(1, 500).describe('Why it is voided.') });

export const RecordPayment = z
  .strictObject({
    amount: PositiveMoney.describe('A decimal string, more than 0 and at most the balance due ("50.00").'),
    method: plainText(1, 40).optional().describe('card, cash, bank-transfer, insurer...'),
    reference: plainText(1, 200).optional().describe("The payment's reference (a receipt or transaction number)."),
  })
  .meta({ id: 'RecordPayment' });
export type RecordPayment = z.infer<typeof RecordPayment>;

export const RecordRefund = z
  .strictObject({
    amount: PositiveMoney.describe('A decimal string, more than 0 and at most what was paid.'),
    reason: plainText(1, 500).describe('Why the money is given back.'),
    method: plainText(1, 40).optional(),
    reference: plainText(1, 200).optional(),
  })
  .meta({ id: 'RecordRefund' });
export type RecordRefund = z.infer<typeof RecordRefund>;

export const CreateCreditNote = z
  .strictObject({
    lines: Lines.describe('What is credited, priced like invoice lines; the total is at most the balance due.'),
    reason: plainText(1, 500).describe('Why the invoice is corrected.'),
  })
  .meta({ id: 'CreateCreditNote' });
export type CreateCreditNote = z.infer<typeof CreateCreditNote>;

export const InvoiceLine = z
  .object({
    id: z.string(),
    position: z.number().int(),
    serviceCode: z.string(),
    description: z.string(),
    quantity: z.string().meta({ example: '3' }),
    unitPrice: Amount,
    taxRate: z.string().meta({ example: '7.25' }).describe('Percent.'),
    subtotal: Amount,
    tax: Amount,
    total: Amount,
  })
  .meta({ id: 'InvoiceLine' });
export type InvoiceLine = z.infer<typeof InvoiceLine>;

export const Payment = z
  .object({
    id: z.string(),
    kind: z.enum(['payment', 'refund']),
    amount: Amount,
    method: z.string().nullable(),
    reference: z.string().nullable(),
    reason: z.string().nullable(),
    recordedBy: z.string(),
    createdAt: z.date(),
  })
  .meta({ id: 'Payment' });
export type Payment = z.infer<typeof Payment>;

export const CreditNoteSummary = z
  .object({ id: z.string(), number: z.string().nullable(), total: Amount, issuedAt: z.date().nullable() })
  .meta({ id: 'CreditNoteSummary' });

export const InvoiceSummary = z
  .object({
    id: z.string(),
    kind: z.enum(INVOICE_KINDS),
    number: z.string().nullable().describe('INV-000001, given when issued; null for a draft.'),
    status: z.enum(INVOICE_STATUSES),
    patientId: z.string(),
    encounterId: z.string().nullable(),
    creditedInvoiceId: z.string().nullable().describe('For a credit note: the invoice it corrects.'),
    currency: z.string(),
    subtotal: Amount,
    tax: Amount,
    total: Amount,
    amountPaid: Amount.describe('Payments less refunds.'),
    amountCredited: Amount.describe("The credit notes' totals."),
    balanceDue: Amount.describe('total - amountPaid - amountCredited; 0.00 for a credit note.'),
    issuedAt: z.date().nullable(),
    dueAt: z.date().nullable(),
    paidAt: z.date().nullable(),
    voidedAt: z.date().nullable(),
    voidReason: z.string().nullable(),
    creditReason: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'InvoiceSummary' });
export type InvoiceSummary = z.infer<typeof InvoiceSummary>;

export const Invoice = InvoiceSummary.extend({
  lines: z.array(InvoiceLine),
  payments: z.array(Payment).describe('Payments and refunds, oldest first.'),
  creditNotes: z.array(CreditNoteSummary).describe('Credit notes issued against this invoice.'),
}).meta({ id: 'Invoice' });
export type Invoice = z.infer<typeof Invoice>;

export const InvoiceQuery = PageQuery.extend({
  patientId: RecordId.optional(),
  encounterId: RecordId.optional(),
  status: z.enum(INVOICE_STATUSES).optional(),
  kind: z.enum(INVOICE_KINDS).optional(),
});
export type InvoiceQuery = z.infer<typeof InvoiceQuery>;

export const RECEIVABLE_BUCKETS = ['current', '1-30', '31-60', '61-90', '90+'] as const;
export type ReceivableBucket = (typeof RECEIVABLE_BUCKETS)[number];

export const Receivables = z
  .object({
    asOf: z.date(),
    currency: z.string(),
    buckets: z.array(
      z.object({
        bucket: z.enum(RECEIVABLE_BUCKETS).describe('current: not yet due; otherwise days past due.'),
        count: z.number().int(),
        amount: Amount,
      }),
    ),
    total: z.object({ count: z.number().int(), amount: Amount }),
  })
  .meta({ id: 'Receivables' });
export type Receivables = z.infer<typeof Receivables>;
