import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type AppointmentSummary, EncountersService } from './encounters.service.js';
import {
  AddDiagnosis,
  AmendNote,
  Diagnosis,
  Encounter,
  EncounterDetail,
  EncounterQuery,
  Note,
  NoteVersion,
  OpenEncounter,
  PatientEncounterQuery,
  RecordVital,
  Vital,
  VitalHistoryQuery,
  WriteNote,
} from './encounters.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    encounters: EncountersService;
  }
}

/** The appointments module's lookup, as far as this module relies on it. */
interface AppointmentsLookup {
  get(ctx: TenantContext, id: string): Promise<AppointmentSummary | undefined>;
  start(ctx: TenantContext, id: string): Promise<unknown>;
}

/** The patients module's existence check, as far as this module relies on it. */
interface PatientsLookup {
  exists?(ctx: TenantContext, id: string, options?: { activeOnly?: boolean }): Promise<boolean>;
}

const notFound = { 404: ErrorBody };
const notFoundOrConflict = { 404: ErrorBody, 409: ErrorBody };

export const encountersModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as { appointments?: AppointmentsLookup; patients?: PatientsLookup };
    app.decorate(
      'encounters',
      new EncountersService({
        uow: app.uow,
        now: app.now,
        appointment: (ctx, id) => {
          const appointments = others().appointments;
          if (!appointments) throw new Error('the appointments module is not registered');
          return appointments.get(ctx, id);
        },
        startAppointment: (ctx, id) => {
          const appointments = others().appointments;
          if (!appointments) throw new Error('the appointments module is not registered');
          return appointments.start(ctx, id);
        },
        patientState: async (ctx, patientId) => {
          const patients = others().patients;
          if (typeof patients?.exists !== 'function') return undefined;
          if (await patients.exists(ctx, patientId, { activeOnly: true })) return 'active';
          return (await patients.exists(ctx, patientId)) ? 'archived' : 'missing';
        },
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['encounters'];

    r.post(
      '/api/v1/encounters',
      {
        config: { permission: 'encounters:open' },
        schema: {
          tags,
          summary: 'Open an encounter, from a checked-in appointment or as a walk-in',
          body: OpenEncounter,
          response: { 201: Encounter, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request, reply) => reply.code(201).send(await app.encounters.open(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/encounters',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: 'Encounters in the order they were opened, optionally of one patient or in one state',
          querystring: EncounterQuery,
          response: { 200: pageOf(Encounter), ...commonErrors },
        },
      },
      async (request) => app.encounters.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/encounters/:id',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: 'An encounter with its notes (current versions), diagnoses and vitals',
          params: IdParams,
          response: { 200: EncounterDetail, ...commonErrors, ...notFound },
        },
      },
      async (request) => app.encounters.detail(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/encounters/:id/sign',
      {
        config: { permission: 'encounters:sign' },
        schema: {
          tags,
          summary: 'Sign the encounter and all its notes, closing it',
          params: IdParams,
          response: { 200: Encounter, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request) => app.encounters.sign(request.tenant, request.params.id),
    );

    r.post(
      '/api/v1/encounters/:id/notes',
      {
        config: { permission: 'notes:write' },
        schema: {
          tags,
          summary: 'Write a clinical note (version 1, by the caller) on an open encounter',
          params: IdParams,
          body: WriteNote,
          response: { 201: Note, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.encounters.notes.create(request.tenant, request.params.id, request.body.body)),
    );

    r.post(
      '/api/v1/encounters/:id/diagnoses',
      {
        config: { permission: 'diagnoses:write' },
        schema: {
          tags,
          summary: 'Add an ICD-10 diagnosis; a primary one demotes the previous primary',
          params: IdParams,
          body: AddDiagnosis,
          response: { 201: Diagnosis, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.encounters.addDiagnosis(request.tenant, request.params.id, request.body)),
    );

    r.post(
      '/api/v1/encounters/:id/vitals',
      {
        config: { permission: 'vitals:record' },
        schema: {
          tags,
          summary: 'Record a vital sign; stored in its canonical unit',
          params: IdParams,
          body: RecordVital,
          response: { 201: Vital, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.encounters.recordVital(request.tenant, request.params.id, request.body)),
    );

    r.get(
      '/api/v1/patients/:id/encounters',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: "A patient's encounters, in the order they were opened",
          params: IdParams,
          querystring: PatientEncounterQuery,
          response: { 200: pageOf(Encounter), ...commonErrors, ...notFound },
        },
      },
      async (request) => app.encounters.listOfPatient(request.tenant, request.params.id, request.query),
    );

    r.get(
      '/api/v1/patients/:id/vitals',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: "A patient's vitals across encounters, in the order they were taken",
          params: IdParams,
          querystring: VitalHistoryQuery,
          response: { 200: pageOf(Vital), ...commonErrors, ...notFound },
        },
      },
      async (request) => app.encounters.vitalsOfPatient(request.tenant, request.params.id, request.query),
    );

    r.get(
      '/api/v1/notes/:id',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: 'A clinical note with its current version',
          params: IdParams,
          response: { 200: Note, ...commonErrors, ...notFound },
        },
      },
      async (request) => app.encounters.notes.get(request.tenant, request.params.id),
    );

    r.get(
      '/api/v1/notes/:id/versions',
      {
        config: { permission: 'encounters:read' },
        schema: {
          tags,
          summary: 'Every version of a note, oldest first',
          params: IdParams,
          querystring: PageQuery,
          response: { 200: pageOf(NoteVersion), ...commonErrors, ...notFound },
        },
      },
      async (request) => app.encounters.notes.versions(request.tenant, request.params.id, request.query),
    );

    r.post(
      '/api/v1/notes/:id/amend',
      {
        config: { permission: 'notes:write' },
        schema: {
          tags,
          summary: 'Amend a note: adds a version and keeps the earlier ones (its author or a doctor)',
          params: IdParams,
          body: AmendNote,
          response: { 200: Note, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request) => app.encounters.notes.amend(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/notes/:id/sign',
      {
        config: { permission: 'notes:sign' },
        schema: {
          tags,
          summary: 'Sign a note, freezing it',
          params: IdParams,
          response: { 200: Note, ...commonErrors, ...notFoundOrConflict },
        },
      },
      async (request) => app.encounters.notes.sign(request.tenant, request.params.id),
    );
  },
  { name: 'encounters', dependencies: ['kit', 'tenancy'] },
);
