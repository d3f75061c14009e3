import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type EncounterSummary, LabOrdersService } from './lab-orders.service.js';
import { LabTestsService } from './lab-tests.service.js';
import {
  CancelLabOrder,
  CreateLabOrder,
  CreateLabTest,
  LabOrder,
  LabOrderDetail,
  LabOrderQuery,
  LabTest,
  LabTestQuery,
  NoBody,
  RecordLabResult,
  UpdateLabTest,
} from './labs.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    labTests: LabTestsService;
    labOrders: LabOrdersService;
  }
}

/** The other modules, as far as this one relies on them. */
interface Others {
  patients?: { exists(ctx: TenantContext, id: string, options?: { activeOnly?: boolean }): Promise<boolean> };
  encounters?: { get(ctx: TenantContext, id: string): Promise<EncounterSummary | undefined> };
}

function required<T>(service: T | undefined, name: string): T {
  if (!service) throw new Error(`the ${name} module is not registered`);
  return service;
}

const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/**
 * Lab tests and orders. Every member reads the catalog, admins keep it. Doctors order, review and
 * cancel; nurses collect, start and record results; managers read.
 */
export const labsModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as Others;
    app.decorate('labTests', new LabTestsService(app.uow, () => app.now()));
    app.decorate(
      'labOrders',
      new LabOrdersService({
        uow: app.uow,
        now: () => app.now(),
        patientState: async (ctx, patientId) => {
          const patients = required(others().patients, 'patients');
          if (await patients.exists(ctx, patientId, { activeOnly: true })) return 'active';
          return (await patients.exists(ctx, patientId)) ? 'archived' : 'missing';
        },
        encounter: (ctx, id) => required(others().encounters, 'encounters').get(ctx, id),
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    // The catalog.
    const catalog = ['lab-tests'];
    r.post(
      '/api/v1/lab-tests',
      {
        config: { permission: 'lab-tests:manage' },
        schema: {
          tags: catalog,
          summary: 'Add a test to the catalog, with its unit and ranges (decimal strings)',
          body: CreateLabTest,
          response: { 201: LabTest, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.labTests.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/lab-tests',
      {
        config: { permission: 'lab-tests:read' },
        schema: {
          tags: catalog,
          summary: 'The catalog, in the order tests were added; q searches name and code',
          querystring: LabTestQuery,
          response: { 200: pageOf(LabTest), ...commonErrors },
        },
      },
      async (request) => app.labTests.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/lab-tests/:id',
      {
        config: { permission: 'lab-tests:read' },
        schema: {
          tags: catalog,
          summary: 'A lab test',
          params: IdParams,
          response: { 200: LabTest, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.labTests.get(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/lab-tests/:id',
      {
        config: { permission: 'lab-tests:manage' },
        schema: {
          tags: catalog,
          summary: 'Change a test (a bound set to null is cleared); `active: false` deactivates it (no new orders)',
          params: IdParams,
          body: UpdateLabTest,
          response: { 200: LabTest, ...changed },
        },
      },
      async (request) => app.labTests.update(request.tenant, request.params.id, request.body),
    );

    // Orders.
    const tags = ['lab-orders'];
    r.post(
      '/api/v1/lab-orders',
      {
        config: { permission: 'lab-orders:order' },
        schema: {
          tags,
          summary: 'Order a lab test for a patient (optionally in an open encounter of theirs)',
          body: CreateLabOrder,
          response: { 201: LabOrder, ...changed },
        },
      },
      async (request, reply) => reply.code(201).send(await app.labOrders.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/lab-orders',
      {
        config: { permission: 'lab-orders:read' },
        schema: {
          tags,
          summary: 'Lab orders in the order they were placed: by patient, encounter, status or result flag',
          querystring: LabOrderQuery,
          response: { 200: pageOf(LabOrder), ...commonErrors },
        },
      },
      async (request) => app.labOrders.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/lab-orders/:id',
      {
        config: { permission: 'lab-orders:read' },
        schema: {
          tags,
          summary: 'A lab order with its result and its timeline',
          params: IdParams,
          response: { 200: LabOrderDetail, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.labOrders.get(request.tenant, request.params.id),
    );

    const process = [
      ['collect', 'Collect the specimen (ordered to collected)', 'collect'],
      ['start', 'Start the analysis (collected to in-progress)', 'start'],
    ] as const;
    for (const [path, summary, method] of process) {
      r.post(
        `/api/v1/lab-orders/:id/${path}`,
        {
          config: { permission: 'lab-orders:process' },
          schema: { tags, summary, params: IdParams, body: NoBody, response: { 200: LabOrder, ...changed } },
        },
        async (request) => app.labOrders[method](request.tenant, request.params.id),
      );
    }

    r.post(
      '/api/v1/lab-orders/:id/results',
      {
        config: { permission: 'lab-orders:process' },
        schema: {
          tags,
          summary:
            "Record the result (in-progress to resulted) in the test's unit; the flag is computed here, and a critical result is escalated",
          params: IdParams,
          body: RecordLabResult,
          response: { 200: LabOrder, ...changed },
        },
      },
      async (request) => app.labOrders.recordResult(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/lab-orders/:id/review',
      {
        config: { permission: 'lab-orders:review' },
        schema: {
          tags,
          summary: 'Review the result (resulted to reviewed)',
          params: IdParams,
          body: NoBody,
          response: { 200: LabOrder, ...changed },
        },
      },
      async (request) => app.labOrders.review(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/lab-orders/:id/cancel',
      {
        config: { permission: 'lab-orders:order' },
        schema: {
          tags,
          summary: 'Cancel an order that has no result yet, with a reason',
          params: IdParams,
          body: CancelLabOrder,
          response: { 200: LabOrder, ...changed },
        },
      },
      async (request) => app.labOrders.cancel(request.tenant, request.params.id, request.body.reason),
    );
  },
  { name: 'labs', dependencies: ['kit', 'tenancy'] },
);
