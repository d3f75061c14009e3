import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  Appointment,
  AppointmentFilter,
  BookAppointment,
  CancelAppointment,
  RescheduleAppointment,
  UnitDayQuery,
} from './appointments.shapes.js';
import { AppointmentsService } from './appointments.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    appointments: AppointmentsService;
  }
}

/** What this module asks of the patients module, when it is there (it is written alongside). */
interface PatientLookup {
  exists?: (ctx: TenantContext, id: string, options?: { activeOnly?: boolean }) => Promise<boolean>;
}

/** Rooms of a unit, all of them (a unit has a handful; pages of 100 are read until the last). */
async function roomIdsOf(app: FastifyInstance, ctx: TenantContext, unitId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await app.hospitals.listRooms(ctx, unitId, { limit: 100, cursor, active: undefined });
    ids.push(...page.data.map((room) => room.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

const tags = ['appointments'];
const one = { 200: Appointment, ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/** An action that takes no input: no body, or an empty JSON object; anything else is a 400, not silently ignored. */
const NoBody = z.strictObject({}).nullish();

/** The appointments module: booking, rescheduling, the status machine, lists and the unit day view. */
export const appointmentsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'appointments',
      new AppointmentsService({
        uow: app.uow,
        now: app.now,
        // Other modules are read when a request needs them, not now: they register in any order.
        member: (ctx, userId) => app.users.member(ctx, userId),
        patientState: async (ctx, patientId) => {
          const patients = (app as unknown as { patients?: PatientLookup }).patients;
          if (typeof patients?.exists !== 'function') return undefined;
          if (await patients.exists(ctx, patientId, { activeOnly: true })) return 'active';
          return (await patients.exists(ctx, patientId)) ? 'archived' : 'missing';
        },
        room: (ctx, roomId) => app.hospitals.findRoom(ctx, roomId),
        unit: async (ctx, unitId) => {
          const unit = await app.hospitals.findUnit(ctx, unitId);
          if (!unit) return undefined;
          const hospital = await app.hospitals.getHospital(ctx, unit.hospitalId);
          return { timezone: hospital.timezone, roomIds: await roomIdsOf(app, ctx, unitId) };
        },
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/appointments',
      {
        config: { permission: 'appointments:read' },
        schema: {
          tags,
          summary: 'Appointments, by start time: by day, practitioner, patient, room, status',
          querystring: AppointmentFilter,
          response: { 200: pageOf(Appointment), ...commonErrors },
        },
      },
      async (request) => app.appointments.list(request.tenant, request.query),
    );

    r.post(
      '/api/v1/appointments',
      {
        config: { permission: 'appointments:schedule' },
        schema: {
          tags,
          summary: 'Book an appointment (409 naming the appointment in the way if the practitioner or room is taken)',
          body: BookAppointment,
          response: { 201: Appointment, ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.appointments.book(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/appointments/:id',
      {
        config: { permission: 'appointments:read' },
        schema: {
          tags,
          summary: 'One appointment',
          params: IdParams,
          response: { 200: Appointment, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.appointments.get(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/appointments/:id',
      {
        config: { permission: 'appointments:schedule' },
        schema: {
          tags,
          summary: 'Reschedule a booked appointment: times, room or practitioner',
          params: IdParams,
          body: RescheduleAppointment,
          response: one,
        },
      },
      async (request) => app.appointments.reschedule(request.tenant, request.params.id, request.body),
    );

    r.post(
      '/api/v1/appointments/:id/cancel',
      {
        config: { permission: 'appointments:schedule' },
        schema: {
          tags,
          summary: 'Cancel a booked or checked-in appointment, with a reason; frees its slot',
          params: IdParams,
          body: CancelAppointment,
          response: one,
        },
      },
      async (request) => app.appointments.cancel(request.tenant, request.params.id, request.body.reason),
    );

    r.post(
      '/api/v1/appointments/:id/no-show',
      {
        config: { permission: 'appointments:schedule' },
        schema: {
          tags,
          summary: 'Mark a booked appointment that has started as a no-show; frees its slot',
          params: IdParams,
          body: NoBody,
          response: one,
        },
      },
      async (request) => app.appointments.noShow(request.tenant, request.params.id),
    );

    const progress = [
      ['check-in', 'Check the patient in (booked to checked-in)', 'checkIn'],
      ['start', 'Start the visit (checked-in to in-progress)', 'start'],
      ['complete', 'Complete the visit (in-progress to completed)', 'complete'],
    ] as const;
    for (const [path, summary, method] of progress) {
      r.post(
        `/api/v1/appointments/:id/${path}`,
        {
          config: { permission: 'appointments:progress' },
          schema: { tags, summary, params: IdParams, body: NoBody, response: one },
        },
        async (request) => app.appointments[method](request.tenant, request.params.id),
      );
    }

    r.get(
      '/api/v1/units/:id/appointments',
      {
        config: { permission: 'appointments:read' },
        schema: {
          tags,
          summary: "A unit's day: appointments in its rooms on one day of its hospital's calendar",
          params: IdParams,
          querystring: UnitDayQuery,
          response: { 200: pageOf(Appointment), ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.appointments.unitDay(request.tenant, request.params.id, request.query),
    );
  },
  { name: 'appointments', dependencies: ['kit', 'tenancy', 'users', 'hospitals'] },
);
