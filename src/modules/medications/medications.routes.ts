import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import { MedicationsService } from './medications.service.js';
import { CreateMedication, Medication, MedicationQuery, UpdateMedication } from './medications.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    medications: MedicationsService;
  }
}

const tags = ['medications'];
const read = { permission: 'medications:read' } as const;
const manage = { permission: 'medications:manage' } as const;

/** The medication catalog: every member reads it, admins (medications:manage) keep it. */
export const medicationsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('medications', new MedicationsService(app.uow, () => app.now()));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/medications',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Add a medication to the catalog',
          body: CreateMedication,
          response: { 201: Medication, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.medications.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/medications',
      {
        config: read,
        schema: {
          tags,
          summary: 'The catalog, in the order medications were added; q searches name and code',
          querystring: MedicationQuery,
          response: { 200: pageOf(Medication), ...commonErrors },
        },
      },
      async (request) => app.medications.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/medications/:id',
      {
        config: read,
        schema: {
          tags,
          summary: 'A medication',
          params: IdParams,
          response: { 200: Medication, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.medications.get(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/medications/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Change a medication; `active: false` deactivates it (no new prescriptions or receipts)',
          params: IdParams,
          body: UpdateMedication,
          response: { 200: Medication, ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => app.medications.update(request.tenant, request.params.id, request.body),
    );
  },
  { name: 'medications', dependencies: ['kit', 'tenancy'] },
);
