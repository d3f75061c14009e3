import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  ApprovePriorAuthorization,
  Coverage,
  CoverageQuery,
  CreateCoverage,
  CreateInsurer,
  CreatePriorAuthorization,
  DenyPriorAuthorization,
  Insurer,
  InsurerQuery,
  PriorAuthorization,
  PriorAuthorizationQuery,
  SubmitPriorAuthorization,
  UpdateCoverage,
  UpdateInsurer,
} from './insurance.shapes.js';
import { InsuranceService } from './insurance.service.js';
import { type PrescriptionSummary, PriorAuthorizationsService } from './prior-authorizations.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    insurance: InsuranceService;
    priorAuthorizations: PriorAuthorizationsService;
  }
}

/** The patients and prescriptions modules, as far as this one relies on them. */
interface Others {
  patients?: { exists?(ctx: TenantContext, id: string, options?: { activeOnly?: boolean }): Promise<boolean> };
  prescriptions?: { get(ctx: TenantContext, id: string): Promise<PrescriptionSummary | undefined> };
}

const found = { ...commonErrors, 404: ErrorBody };
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/** Insurers, coverages and prior authorizations. */
export const insuranceModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as Others;
    const now = () => app.now();
    app.decorate(
      'insurance',
      new InsuranceService({
        uow: app.uow,
        now,
        patientExists: async (ctx, patientId) => {
          const patients = others().patients;
          return typeof patients?.exists === 'function' ? patients.exists(ctx, patientId) : undefined;
        },
      }),
    );
    app.decorate(
      'priorAuthorizations',
      new PriorAuthorizationsService({
        uow: app.uow,
        now,
        prescription: (ctx, id) => {
          const prescriptions = others().prescriptions;
          if (!prescriptions) throw new Error('the prescriptions module is not registered');
          return prescriptions.get(ctx, id);
        },
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    // Insurers: every member reads the catalog, admins keep it.
    const insurers = { tags: ['insurers'] };
    r.post(
      '/api/v1/insurers',
      {
        config: { permission: 'insurers:manage' },
        schema: {
          ...insurers,
          summary: 'Add an insurer to the catalog',
          body: CreateInsurer,
          response: { 201: Insurer, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.insurance.createInsurer(request.tenant, request.body)),
    );
    r.get(
      '/api/v1/insurers',
      {
        config: { permission: 'insurers:read' },
        schema: {
          ...insurers,
          summary: 'The insurers catalog (`?active=`)',
          querystring: InsurerQuery,
          response: { 200: pageOf(Insurer), ...commonErrors },
        },
      },
      async (request) => app.insurance.listInsurers(request.tenant, request.query),
    );
    r.get(
      '/api/v1/insurers/:id',
      {
        config: { permission: 'insurers:read' },
        schema: { ...insurers, summary: 'An insurer', params: IdParams, response: { 200: Insurer, ...found } },
      },
      async (request) => app.insurance.getInsurer(request.tenant, request.params.id),
    );
    r.patch(
      '/api/v1/insurers/:id',
      {
        config: { permission: 'insurers:manage' },
        schema: {
          ...insurers,
          summary: 'Change or deactivate (`active: false`) an insurer; its coverages stay',
          params: IdParams,
          body: UpdateInsurer,
          response: { 200: Insurer, ...changed },
        },
      },
      async (request) => app.insurance.updateInsurer(request.tenant, request.params.id, request.body),
    );

    // Coverages: patient data, audited on every read.
    const coverages = { tags: ['coverages'] };
    r.post(
      '/api/v1/coverages',
      {
        config: { permission: 'coverages:manage' },
        schema: {
          ...coverages,
          summary: "Add a patient's coverage (409 if an active one of the same priority overlaps its dates)",
          body: CreateCoverage,
          response: { 201: Coverage, ...changed },
        },
      },
      async (request, reply) => reply.code(201).send(await app.insurance.createCoverage(request.tenant, request.body)),
    );
    r.get(
      '/api/v1/coverages',
      {
        config: { permission: 'coverages:read' },
        schema: {
          ...coverages,
          summary: 'Coverages in creation order (`?patientId=&active=`)',
          querystring: CoverageQuery,
          response: { 200: pageOf(Coverage), ...commonErrors },
        },
      },
      async (request) => app.insurance.listCoverages(request.tenant, request.query),
    );
    r.get(
      '/api/v1/coverages/:id',
      {
        config: { permission: 'coverages:read' },
        schema: { ...coverages, summary: 'A coverage', params: IdParams, response: { 200: Coverage, ...found } },
      },
      async (request) => app.insurance.getCoverage(request.tenant, request.params.id),
    );
    r.patch(
      '/api/v1/coverages/:id',
      {
        config: { permission: 'coverages:manage' },
        schema: {
          ...coverages,
          summary: 'Change a coverage; end it (`validTo`) or deactivate it (`active: false`)',
          params: IdParams,
          body: UpdateCoverage,
          response: { 200: Coverage, ...changed },
        },
      },
      async (request) => app.insurance.updateCoverage(request.tenant, request.params.id, request.body),
    );

    // Prior authorizations: draft -> submitted -> approved | denied.
    const priorAuth = { tags: ['prior-authorizations'] };
    r.post(
      '/api/v1/prior-authorizations',
      {
        config: { permission: 'prior-authorizations:request' },
        schema: {
          ...priorAuth,
          summary: 'Draft a prior authorization for an active prescription (one open request per prescription)',
          body: CreatePriorAuthorization,
          response: { 201: PriorAuthorization, ...changed },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.priorAuthorizations.create(request.tenant, request.body)),
    );
    r.get(
      '/api/v1/prior-authorizations',
      {
        config: { permission: 'prior-authorizations:read' },
        schema: {
          ...priorAuth,
          summary: 'Prior authorizations in creation order (`?prescriptionId=&patientId=&status=`)',
          querystring: PriorAuthorizationQuery,
          response: { 200: pageOf(PriorAuthorization), ...commonErrors },
        },
      },
      async (request) => app.priorAuthorizations.list(request.tenant, request.query),
    );
    r.get(
      '/api/v1/prior-authorizations/:id',
      {
        config: { permission: 'prior-authorizations:read' },
        schema: {
          ...priorAuth,
          summary: 'A prior authorization',
          params: IdParams,
          response: { 200: PriorAuthorization, ...found },
        },
      },
      async (request) => app.priorAuthorizations.get(request.tenant, request.params.id),
    );
    r.post(
      '/api/v1/prior-authorizations/:id/submit',
      {
        config: { permission: 'prior-authorizations:request' },
        schema: {
          ...priorAuth,
          summary: 'Submit a draft to the insurer of its coverage (draft to submitted)',
          params: IdParams,
          body: SubmitPriorAuthorization,
          response: { 200: PriorAuthorization, ...changed },
        },
      },
      async (request) => app.priorAuthorizations.submit(request.tenant, request.params.id, request.body),
    );
    r.post(
      '/api/v1/prior-authorizations/:id/approve',
      {
        config: { permission: 'prior-authorizations:decide' },
        schema: {
          ...priorAuth,
          summary: "Record the insurer's approval (submitted to approved)",
          params: IdParams,
          body: ApprovePriorAuthorization,
          response: { 200: PriorAuthorization, ...changed },
        },
      },
      async (request) => app.priorAuthorizations.approve(request.tenant, request.params.id, request.body),
    );
    r.post(
      '/api/v1/prior-authorizations/:id/deny',
      {
        config: { permission: 'prior-authorizations:decide' },
        schema: {
          ...priorAuth,
          summary: "Record the insurer's denial, with its notes (submitted to denied)",
          params: IdParams,
          body: DenyPriorAuthorization,
          response: { 200: PriorAuthorization, ...changed },
        },
      },
      async (request) => app.priorAuthorizations.deny(request.tenant, request.params.id, request.body.notes),
    );
  },
  { name: 'insurance', dependencies: ['kit', 'tenancy'] },
);
