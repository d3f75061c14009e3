import type { Clock } from '../../platform/clock.js';
import { CountersRepository } from '../../platform/db/counters.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { BillingRepository, type InvoiceRow } from './billing.repository.js';
import type {
  CreateCreditNote,
  CreateInvoice,
  Invoice,
  InvoiceQuery,
  IssueInvoice,
  RecordPayment,
  RecordRefund,
  Receivables,
  UpdateInvoice,
} from './billing.shapes.js';
import { RECEIVABLE_BUCKETS } from './billing.shapes.js';
import {
  INVOICE_ACTION_WORDS,
  type InvoiceAction,
  invoiceStatusesAllowing,
  isInvoiceStatus,
  nextInvoiceStatus,
} from './invoice-status.js';
import { priced, toLine, toPayment, toSummary } from './invoice-mapping.js';
import { Decimal, money } from './money.js';

const DAY_MS = 24 * 3600_000;
/** The organization counter invoice numbers come from (shared with the seed): consecutive, none twice. */
const INVOICE_COUNTER = 'invoice';
/** How long after issue an invoice is due, unless the issue says otherwise. */
export const DEFAULT_DUE_DAYS = 30;
const CURRENCY = 'USD';

export interface BillingDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** Whether the patient is the caller's organization's (app.patients), or undefined when that cannot be asked. */
  patientExists(ctx: TenantContext, patientId: string): Promise<boolean | undefined>;
  /** An encounter of the caller's organization (app.encounters), or undefined. */
  encounter(ctx: TenantContext, encounterId: string): Promise<{ patientId: string } | undefined>;
}

const notFound = (what: string, field?: string) =>
  new AppError(
    'NOT_FOUND',
    `${what} not found`,
    field ? [{ path: `body.${field}`, message: `${what} not found` }] : undefined,
  );

const INVOICE_NOT_FOUND = 'invoice not found';

/**
 * Invoices and credit notes: drafts priced on the server with exact decimals, issue with a sequential
 * number, payments and refunds by atomic conditional UPDATEs (no race can overpay or over-refund),
 * credit notes as the only correction of an issued invoice, and the receivables by age.
 */
export class BillingService {
  constructor(private readonly deps: BillingDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** An invoice or credit note with its lines, payments and credit notes; 404 otherwise. Audited. */
  get(ctx: TenantContext, id: string): Promise<Invoice> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(BillingRepository).find(id);
      if (!row) throw new AppError('NOT_FOUND', INVOICE_NOT_FOUND);
      work.audit({ action: 'invoices.read', resourceType: 'invoice', resourceId: id, patientId: row.patientId });
      return this.detail(work, row);
    });
  }

  /** Invoices in creation order; one `invoices.list` event per invoice on the page (one without a patient if empty). */
  list(ctx: TenantContext, query: InvoiceQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(BillingRepository).list(query, query.limit, decodeCursor(query.cursor));
      const page = toPage(rows, query.limit, (row) => ({ sort: row.createdAt.toISOString(), id: row.id }), toSummary);
      for (const invoice of page.data) {
        work.audit({
          action: 'invoices.list',
          resourceType: 'invoice',
          resourceId: invoice.id,
          patientId: invoice.patientId,
        });
      }
      if (page.data.length === 0) work.audit({ action: 'invoices.list', resourceType: 'invoice' });
      return page;
    });
  }

  async create(ctx: TenantContext, input: CreateInvoice): Promise<Invoice> {
    if ((await this.deps.patientExists(ctx, input.patientId)) === false) throw notFound('patient', 'patientId');
    if (input.encounterId) await this.checkEncounter(ctx, input.encounterId, input.patientId);
    const { rows, totals } = priced(input.lines);
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const now = this.deps.now();
      const invoice = await repo.insert({
        patientId: input.patientId,
        encounterId: input.encounterId ?? null,
        kind: 'invoice',
        status: 'draft',
        currency: CURRENCY,
        ...totals,
        createdBy: ctx.user.id,
        createdAt: now,
        updatedAt: now,
      });
      await repo.insertLines(invoice.id, rows);
      this.audit(work, 'invoices.create', invoice);
      return this.detail(work, invoice);
    });
  }

  /** A draft's new lines (all replaced) or encounter; an issued invoice is 409: correct it with a credit note. */
  async update(ctx: TenantContext, id: string, patch: UpdateInvoice): Promise<Invoice> {
    const pricedLines = patch.lines ? priced(patch.lines) : undefined;
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const current = await this.transitionable(repo, id, 'update');
      if (patch.encounterId) await this.checkEncounter(ctx, patch.encounterId, current.patientId);
      if (pricedLines) await repo.replaceLines(id, pricedLines.rows);
      const row = await repo.update(
        id,
        {
          ...(pricedLines ? pricedLines.totals : {}),
          ...(patch.encounterId !== undefined ? { encounterId: patch.encounterId } : {}),
        },
        this.deps.now(),
      );
      this.audit(work, 'invoices.update', row);
      return this.detail(work, row);
    });
  }

  /** Issues a draft: the next number of the organization (INV-000001...), issue and due dates. */
  issue(ctx: TenantContext, id: string, input: IssueInvoice): Promise<Invoice> {
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const current = await this.transitionable(repo, id, 'issue');
      if (new Decimal(current.total).lte(0)) {
        throw new AppError('CONFLICT', 'the invoice totals 0.00: there is nothing to issue');
      }
      const now = this.deps.now();
      const dueAt = input?.dueAt ? new Date(input.dueAt) : new Date(now.getTime() + DEFAULT_DUE_DAYS * DAY_MS);
      if (dueAt < now) {
        throw new AppError('VALIDATION_FAILED', 'the due date is before the issue', [
          { path: 'body.dueAt', message: 'must not be in the past' },
        ]);
      }
      const number = formatNumber(await work.repo(CountersRepository).next(INVOICE_COUNTER));
      const row = await repo.update(id, { status: 'issued', number, issuedAt: now, dueAt }, now);
      this.audit(work, 'invoices.issue', row);
      return this.detail(work, row);
    });
  }

  /** Voids a draft, or an issued invoice with nothing paid and nothing credited. */
  void(ctx: TenantContext, id: string, reason: string): Promise<Invoice> {
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const current = await this.transitionable(repo, id, 'void');
      if (new Decimal(current.amountPaid).gt(0)) {
        throw new AppError('CONFLICT', `the invoice has ${money(current.amountPaid)} paid: refund it before voiding`);
      }
      if (new Decimal(current.amountCredited).gt(0)) {
        throw new AppError('CONFLICT', 'the invoice has credit notes: it cannot be voided');
      }
      const now = this.deps.now();
      const row = await repo.update(id, { status: 'void', voidedAt: now, voidReason: reason }, now);
      this.audit(work, 'invoices.void', row);
      return this.detail(work, row);
    });
  }

  /** A payment of at most the balance due (409 otherwise); the invoice is paid when the balance reaches 0. */
  pay(ctx: TenantContext, id: string, input: RecordPayment): Promise<Invoice> {
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const now = this.deps.now();
      const amount = money(input.amount);
      const row = await repo.addPayment(id, amount, invoiceStatusesAllowing('pay'), now);
      if (!row) throw await this.whyNot(repo, id, 'pay', amount);
      await repo.insertPayment({
        invoiceId: id,
        patientId: row.patientId,
        kind: 'payment',
        amount,
        method: input.method ?? null,
        reference: input.reference ?? null,
        recordedBy: ctx.user.id,
        createdAt: now,
        updatedAt: now,
      });
      this.audit(work, row.status === 'paid' ? 'invoices.settle' : 'invoices.pay', row);
      return this.detail(work, row);
    });
  }

  /** A refund of at most what was paid (409 otherwise); a paid invoice is issued again, with a balance. */
  refund(ctx: TenantContext, id: string, input: RecordRefund): Promise<Invoice> {
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const now = this.deps.now();
      const amount = money(input.amount);
      const row = await repo.subtractPayment(id, amount, invoiceStatusesAllowing('refund'), now);
      if (!row) throw await this.whyNot(repo, id, 'refund', amount);
      await repo.insertPayment({
        invoiceId: id,
        patientId: row.patientId,
        kind: 'refund',
        amount,
        method: input.method ?? null,
        reference: input.reference ?? null,
        reason: input.reason,
        recordedBy: ctx.user.id,
        createdAt: now,
        updatedAt: now,
      });
      this.audit(work, 'invoices.refund', row);
      return this.detail(work, row);
    });
  }

  /**
   * A credit note against an issued invoice: issued at once with its own number, its total (at most
   * the invoice's balance due) added to the invoice's amount credited. Answers the credit note.
   */
  creditNote(ctx: TenantContext, invoiceId: string, input: CreateCreditNote): Promise<Invoice> {
    const { rows, totals } = priced(input.lines);
    if (new Decimal(totals.total).lte(0)) {
      throw new AppError('VALIDATION_FAILED', 'the credit note totals 0.00', [
        { path: 'body.lines', message: 'the credit note must credit more than 0.00' },
      ]);
    }
    return this.writing(ctx, async (work) => {
      const repo = work.repo(BillingRepository);
      const now = this.deps.now();
      const invoice = await repo.addCredit(invoiceId, totals.total, invoiceStatusesAllowing('credit'), now);
      if (!invoice) throw await this.whyNot(repo, invoiceId, 'credit', totals.total);
      const note = await repo.insert({
        patientId: invoice.patientId,
        encounterId: invoice.encounterId,
        kind: 'credit-note',
        creditedInvoiceId: invoiceId,
        number: formatNumber(await work.repo(CountersRepository).next(INVOICE_COUNTER)),
        status: 'issued',
        currency: invoice.currency,
        ...totals,
        issuedAt: now,
        creditReason: input.reason,
        createdBy: ctx.user.id,
        createdAt: now,
        updatedAt: now,
      });
      await repo.insertLines(note.id, rows);
      this.audit(work, invoice.status === 'paid' ? 'invoices.settle' : 'invoices.credit', invoice);
      this.audit(work, 'credit-notes.issue', note);
      return this.detail(work, note);
    });
  }

  /** Unpaid balances of issued invoices by age (days past due at the clock's now), with counts. */
  receivables(ctx: TenantContext): Promise<Receivables> {
    return this.uow.read(ctx, async (work) => {
      const now = this.deps.now();
      const rows = await work.repo(BillingRepository).receivables(now);
      work.audit({ action: 'billing.receivables', resourceType: 'invoice' });
      const byBucket = new Map(rows.map((row) => [row.bucket, row]));
      const buckets = RECEIVABLE_BUCKETS.map((bucket) => ({
        bucket,
        count: byBucket.get(bucket)?.count ?? 0,
        amount: money(byBucket.get(bucket)?.amount ?? 0),
      }));
      return {
        asOf: now,
        currency: CURRENCY,
        buckets,
        total: {
          count: buckets.reduce((sum, b) => sum + b.count, 0),
          amount: money(buckets.reduce((sum, b) => sum.plus(b.amount), new Decimal(0))),
        },
      };
    });
  }

  private audit(work: Work, action: string, row: InvoiceRow): void {
    work.audit({ action, resourceType: 'invoice', resourceId: row.id, patientId: row.patientId });
  }

  private async detail(work: Work, row: InvoiceRow): Promise<Invoice> {
    const repo = work.repo(BillingRepository);
    const [lines, paymentRows, notes] = [
      await repo.lines(row.id),
      await repo.payments(row.id),
      await repo.creditNotes(row.id),
    ];
    return {
      ...toSummary(row),
      lines: lines.map(toLine),
      payments: paymentRows.map(toPayment),
      creditNotes: notes.map((note) => ({
        id: note.id,
        number: note.number,
        total: money(note.total),
        issuedAt: note.issuedAt,
      })),
    };
  }

  /** A write whose refused encounter reference (another tenant's, raced away) is a 404, not a 400. */
  private async writing<T>(ctx: TenantContext, operation: (work: Work) => Promise<T>): Promise<T> {
    try {
      return await this.uow.write(ctx, operation);
    } catch (error) {
      const { code, constraint } = databaseError(error);
      if (code === '23503' && constraint === 'invoices_patient_fk') throw notFound('patient', 'patientId');
      if (code === '23503' && constraint === 'invoices_encounter_fk') throw notFound('encounter', 'encounterId');
      throw error;
    }
  }

  private async checkEncounter(ctx: TenantContext, encounterId: string, patientId: string): Promise<void> {
    const encounter = await this.deps.encounter(ctx, encounterId);
    if (!encounter) throw notFound('encounter', 'encounterId');
    if (encounter.patientId !== patientId) {
      throw new AppError('VALIDATION_FAILED', "the encounter is another patient's", [
        { path: 'body.encounterId', message: "is not an encounter of the invoice's patient" },
      ]);
    }
  }

  /** The invoice, locked, if the machine allows `action` from its status; 404 or 409 otherwise. */
  private async transitionable(repo: BillingRepository, id: string, action: InvoiceAction): Promise<InvoiceRow> {
    const current = await repo.find(id, { lock: true });
    if (!current) throw new AppError('NOT_FOUND', INVOICE_NOT_FOUND);
    if (current.kind === 'credit-note') {
      throw new AppError('CONFLICT', `a credit note is issued when made: it cannot be ${INVOICE_ACTION_WORDS[action]}`);
    }
    const allowed = isInvoiceStatus(current.status) && nextInvoiceStatus(current.status, action) !== undefined;
    if (!allowed) {
      const hint = action === 'update' && current.status !== 'void' ? ': correct it with a credit note' : '';
      throw new AppError(
        'CONFLICT',
        `the invoice is ${current.status}: it cannot be ${INVOICE_ACTION_WORDS[action]}${hint}`,
      );
    }
    return current;
  }

  /** Why a conditional UPDATE changed nothing: no such invoice (404), its status, or the amount (409). */
  private async whyNot(repo: BillingRepository, id: string, action: InvoiceAction, amount: string) {
    const current = await repo.find(id);
    if (!current) return new AppError('NOT_FOUND', INVOICE_NOT_FOUND);
    if (current.kind === 'credit-note') {
      return new AppError('CONFLICT', `a credit note cannot be ${INVOICE_ACTION_WORDS[action]}`);
    }
    if (!isInvoiceStatus(current.status) || !nextInvoiceStatus(current.status, action)) {
      return new AppError('CONFLICT', `the invoice is ${current.status}: it cannot be ${INVOICE_ACTION_WORDS[action]}`);
    }
    const row = toSummary(current);
    if (action === 'refund') {
      return new AppError('CONFLICT', `the refund of ${amount} is more than the ${row.amountPaid} paid`);
    }
    const what = action === 'credit' ? 'credit note' : 'payment';
    return new AppError('CONFLICT', `the ${what} of ${amount} is more than the balance due of ${row.balanceDue}`);
  }
}

/** INV-000001: the organization's invoices and credit notes share one sequence. */
export const formatNumber = (n: number) => `INV-${String(n).padStart(6, '0')}`;
