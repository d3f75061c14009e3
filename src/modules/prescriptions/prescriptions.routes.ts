import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  type EncounterSummary,
  type MedicationSummary,
  type PatientSummary,
  type PriorAuthorizationState,
  PrescriptionsService,
} from './prescriptions.service.js';
import { CancelPrescription, CreatePrescription, Prescription, PrescriptionQuery } from './prescriptions.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    prescriptions: PrescriptionsService;
  }
}

/** The other modules, as far as this one relies on them. */
interface Others {
  patients?: { get(ctx: TenantContext, id: string): Promise<PatientSummary> };
  medications?: { find(ctx: TenantContext, id: string): Promise<MedicationSummary | undefined> };
  encounters?: { get(ctx: TenantContext, id: string): Promise<EncounterSummary | undefined> };
  priorAuthorizations?: {
    latestFor?(ctx: TenantContext, prescriptionIds: string[]): Promise<Map<string, PriorAuthorizationState>>;
  };
}

const tags = ['prescriptions'];
const read = { permission: 'prescriptions:read' } as const;
const prescribe = { permission: 'prescriptions:prescribe' } as const;
/** An action that takes no body refuses one, rather than ignoring what the caller meant. */
const NoBody = z.strictObject({}).nullish();
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

function required<T>(service: T | undefined, name: string): T {
  if (!service) throw new Error(`the ${name} module is not registered`);
  return service;
}

/** Prescriptions: doctors write, complete and cancel them; clinical roles read them. */
export const prescriptionsModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as Others;
    app.decorate(
      'prescriptions',
      new PrescriptionsService({
        uow: app.uow,
        now: () => app.now(),
        patient: (ctx, id) => required(others().patients, 'patients').get(ctx, id),
        medication: (ctx, id) => required(others().medications, 'medications').find(ctx, id),
        encounter: (ctx, id) => required(others().encounters, 'encounters').get(ctx, id),
        priorAuthorizations: async (ctx, ids) => {
          const priorAuthorizations = others().priorAuthorizations;
          if (ids.length === 0 || typeof priorAuthorizations?.latestFor !== 'function') return new Map();
          return priorAuthorizations.latestFor(ctx, ids);
        },
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/prescriptions',
      {
        config: prescribe,
        schema: {
          tags,
          summary:
            "Write a prescription; 409 naming the allergy when the medication matches one of the patient's, unless overrideReason is given",
          body: CreatePrescription,
          response: { 201: Prescription, ...changed },
        },
      },
      async (request, reply) => reply.code(201).send(await app.prescriptions.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/prescriptions',
      {
        config: read,
        schema: {
          tags,
          summary: 'Prescriptions in the order they were written, optionally of one patient or in one status',
          querystring: PrescriptionQuery,
          response: { 200: pageOf(Prescription), ...commonErrors },
        },
      },
      async (request) => app.prescriptions.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/prescriptions/:id',
      {
        config: read,
        schema: {
          tags,
          summary: 'A prescription, with its dispensed quantity and prior-authorization state',
          params: IdParams,
          response: { 200: Prescription, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.prescriptions.get(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/prescriptions/:id/complete',
      {
        config: prescribe,
        schema: {
          tags,
          summary: 'Complete an active prescription (nothing more is dispensed against it)',
          params: IdParams,
          body: NoBody,
          response: { 200: Prescription, ...changed },
        },
      },
      async (request) => app.prescriptions.complete(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/prescriptions/:id/cancel',
      {
        config: prescribe,
        schema: {
          tags,
          summary: 'Cancel an active prescription, with a reason',
          params: IdParams,
          body: CancelPrescription,
          response: { 200: Prescription, ...changed },
        },
      },
      async (request) => app.prescriptions.cancel(request.tenant, request.params.id, request.body.reason),
    );
  },
  { name: 'prescriptions', dependencies: ['kit', 'tenancy'] },
);
