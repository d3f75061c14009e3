import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  AccessLogEntry,
  CreatePatient,
  Patient,
  PatientListQuery,
  PatientSummary,
  PatientLookupQuery,
  UpdatePatient,
} from './patients.shapes.js';
import { PatientsService, type TreatingCheck } from './patients.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    patients: PatientsService;
  }
}

/** What the appointments and encounters services are asked to expose for the access log. */
interface TreatingSource {
  isTreating?: TreatingCheck;
}

const tags = ['patients'];
const notFound = { 404: ErrorBody };

export const patientsModule = fp(
  async (app: FastifyInstance) => {
    // Read when a doctor asks for an access log, not now: those modules may register after this one.
    const isTreating: TreatingCheck = async (ctx: TenantContext, patientId: string) => {
      const services = app as unknown as { appointments?: TreatingSource; encounters?: TreatingSource };
      if (await services.appointments?.isTreating?.(ctx, patientId)) return true;
      return (await services.encounters?.isTreating?.(ctx, patientId)) ?? false;
    };
    app.decorate('patients', new PatientsService(app.uow, app.now, isTreating));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/patients',
      {
        config: { permission: 'patients:create' },
        schema: {
          tags,
          summary: 'Register a patient (the MRN is generated when not given)',
          body: CreatePatient,
          response: { 201: Patient, ...commonErrors, ...notFound, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.patients.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/patients',
      {
        config: { permission: 'patients:read' },
        schema: {
          tags,
          summary: 'Search patients by name prefix, MRN, birth date or phone; sorted by family and given name',
          querystring: PatientListQuery,
          response: { 200: pageOf(PatientSummary), ...commonErrors },
        },
      },
      async (request) => app.patients.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/patients/lookup',
      {
        config: { permission: 'patients:read' },
        schema: {
          tags,
          summary: 'The one active patient two identifiers select: mrn, or familyName (and givenName) with birthDate',
          querystring: PatientLookupQuery,
          response: { 200: Patient, ...commonErrors, ...notFound, 409: ErrorBody },
        },
      },
      async (request) => app.patients.lookup(request.tenant, request.query),
    );

    r.get(
      '/api/v1/patients/:id',
      {
        config: { permission: 'patients:read' },
        schema: {
          tags,
          summary: 'A patient',
          params: IdParams,
          response: { 200: Patient, ...commonErrors, ...notFound },
        },
      },
      async (request) => app.patients.get(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/patients/:id',
      {
        config: { permission: 'patients:update' },
        schema: {
          tags,
          summary: "Change a patient's details (not the MRN); null clears an optional field",
          params: IdParams,
          body: UpdatePatient,
          response: { 200: Patient, ...commonErrors, ...notFound, 409: ErrorBody },
        },
      },
      async (request) => app.patients.update(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/patients/:id/archive',
      {
        config: { permission: 'patients:archive' },
        schema: {
          tags,
          summary: 'Archive a patient (patients are never deleted); left out of lists unless status=archived',
          params: IdParams,
          response: { 200: Patient, ...commonErrors, ...notFound, 409: ErrorBody },
        },
      },
      async (request) => app.patients.archive(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/patients/:id/unarchive',
      {
        config: { permission: 'patients:archive' },
        schema: {
          tags,
          summary: 'Make an archived patient active again',
          params: IdParams,
          response: { 200: Patient, ...commonErrors, ...notFound, 409: ErrorBody },
        },
      },
      async (request) => app.patients.unarchive(request.tenant, request.params.id),
    );

    r.get(
      '/api/v1/patients/:id/access-log',
      {
        config: { permission: 'patients:access-log' },
        schema: {
          tags,
          summary: "Who read or changed the patient's record, newest first (admins, managers, the treating doctor)",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: pageOf(AccessLogEntry), ...commonErrors, ...notFound },
        },
      },
      async (request) => app.patients.accessLog(request.tenant, request.params.id, request.query),
    );
  },
  { name: 'patients', dependencies: ['kit', 'tenancy'] },
);
