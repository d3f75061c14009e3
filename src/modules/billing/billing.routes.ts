import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  CreateCreditNote,
  CreateInvoice,
  Invoice,
  InvoiceQuery,
  InvoiceSummary,
  IssueInvoice,
  Receivables,
  RecordPayment,
  RecordRefund,
  UpdateInvoice,
  VoidInvoice,
} from './billing.shapes.js';
import { BillingService } from './billing.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    billing: BillingService;
  }
}

/** The patients and encounters modules, as far as billing relies on them. */
interface Others {
  patients?: { exists?(ctx: TenantContext, id: string, options?: { activeOnly?: boolean }): Promise<boolean> };
  encounters?: { get(ctx: TenantContext, id: string): Promise<{ patientId: string } | undefined> };
}

const tags = ['billing'];
const read = { permission: 'invoices:read' } as const;
const manage = { permission: 'invoices:manage' } as const;
const changed = { 200: Invoice, ...commonErrors, 404: ErrorBody, 409: ErrorBody };
const created = { 201: Invoice, ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/** Invoices, payments, refunds and credit notes; the receivables. */
export const billingModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as Others;
    app.decorate(
      'billing',
      new BillingService({
        uow: app.uow,
        now: () => app.now(),
        patientExists: async (ctx, patientId) => {
          const patients = others().patients;
          return typeof patients?.exists === 'function' ? patients.exists(ctx, patientId) : undefined;
        },
        encounter: (ctx, id) => {
          const encounters = others().encounters;
          if (!encounters) throw new Error('the encounters module is not registered');
          return encounters.get(ctx, id);
        },
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/invoices',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Create a draft invoice; its amounts are computed here (decimal strings, rounded per line)',
          body: CreateInvoice,
          response: { 201: Invoice, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.billing.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/invoices',
      {
        config: read,
        schema: {
          tags,
          summary: 'Invoices and credit notes in creation order (`?patientId=&encounterId=&status=&kind=`)',
          querystring: InvoiceQuery,
          response: { 200: pageOf(InvoiceSummary), ...commonErrors },
        },
      },
      async (request) => app.billing.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/invoices/:id',
      {
        config: read,
        schema: {
          tags,
          summary: 'An invoice or credit note with its lines, payments and credit notes',
          params: IdParams,
          response: { 200: Invoice, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.billing.get(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/invoices/:id',
      {
        config: manage,
        schema: {
          tags,
          summary:
            "Change a draft's lines (all replaced) or encounter; an issued invoice is 409 (credit notes correct it)",
          params: IdParams,
          body: UpdateInvoice,
          response: changed,
        },
      },
      async (request) => app.billing.update(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/invoices/:id/issue',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Issue a draft: its number (INV-000001...), issue date and due date (30 days by default)',
          params: IdParams,
          body: IssueInvoice,
          response: changed,
        },
      },
      async (request) => app.billing.issue(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/invoices/:id/void',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Void a draft, or an issued invoice with nothing paid or credited',
          params: IdParams,
          body: VoidInvoice,
          response: changed,
        },
      },
      async (request) => app.billing.void(request.tenant, request.params.id, request.body.reason),
    );

    r.post(
      '/api/v1/invoices/:id/payments',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Record a payment of at most the balance due (409 otherwise); at a balance of 0 it is paid',
          params: IdParams,
          body: RecordPayment,
          response: created,
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.billing.pay(request.tenant, request.params.id, request.body)),
    );

    r.post(
      '/api/v1/invoices/:id/refunds',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Refund at most what was paid (409 otherwise); a paid invoice is issued again',
          params: IdParams,
          body: RecordRefund,
          response: created,
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.billing.refund(request.tenant, request.params.id, request.body)),
    );

    r.post(
      '/api/v1/invoices/:id/credit-notes',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Correct an issued invoice: an issued credit note, at most the balance due, which it reduces',
          params: IdParams,
          body: CreateCreditNote,
          response: created,
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.billing.creditNote(request.tenant, request.params.id, request.body)),
    );

    r.get(
      '/api/v1/billing/receivables',
      {
        config: { permission: 'billing:receivables' },
        schema: {
          tags,
          summary: 'Unpaid balances of issued invoices by days past due (current, 1-30, 31-60, 61-90, 90+)',
          response: { 200: Receivables, ...commonErrors },
        },
      },
      async (request) => app.billing.receivables(request.tenant),
    );
  },
  { name: 'billing', dependencies: ['kit', 'tenancy'] },
);
