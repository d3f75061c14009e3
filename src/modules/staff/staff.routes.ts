import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import { StaffService } from './staff.service.js';
import {
  OnDuty,
  PatchOwnProfile,
  PutStaffProfile,
  Shift,
  StaffMember,
  StaffQuery,
  StartShift,
  UserIdParams,
} from './staff.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    staff: StaffService;
  }
}

const tags = ['staff'];
const found = { ...commonErrors, 404: ErrorBody };
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/** Staff profiles, shifts and the on-duty roster of a unit. */
export const staffModule = fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'staff',
      new StaffService(app.uow, () => app.now(), {
        // Read when called: the users and hospitals modules are registered alongside this one.
        member: (ctx, userId) => app.users.member(ctx, userId),
        unit: (ctx, id) => app.hospitals.findUnit(ctx, id),
        hospital: (ctx, id) => app.hospitals.findHospital(ctx, id),
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/staff',
      {
        config: { permission: 'staff:read' },
        schema: {
          tags,
          summary: 'Members with their staff profile and whether they are on duty',
          querystring: StaffQuery,
          response: { 200: pageOf(StaffMember), ...commonErrors },
        },
      },
      async (request) => app.staff.list(request.tenant, request.query),
    );

    r.get(
      '/api/v1/staff/me',
      {
        config: { permission: 'staff:read' },
        schema: { tags, summary: "The caller's staff profile", response: { 200: StaffMember, ...found } },
      },
      async (request) => app.staff.get(request.tenant, request.tenant.user.id),
    );

    r.patch(
      '/api/v1/staff/me',
      {
        // Every member keeps their own contact details; where they work is a manager's call (PUT).
        config: { permission: 'staff:read' },
        schema: {
          tags,
          summary: 'Change your own specialization or phone',
          body: PatchOwnProfile,
          response: { 200: StaffMember, ...found },
        },
      },
      async (request) => app.staff.updateOwn(request.tenant, request.body),
    );

    r.get(
      '/api/v1/staff/:userId',
      {
        config: { permission: 'staff:read' },
        schema: {
          tags,
          summary: "A member's staff profile",
          params: UserIdParams,
          response: { 200: StaffMember, ...found },
        },
      },
      async (request) => app.staff.get(request.tenant, request.params.userId),
    );

    r.put(
      '/api/v1/staff/:userId',
      {
        config: { permission: 'staff:manage' },
        schema: {
          tags,
          summary: "Set a member's staff profile (fields left out are cleared)",
          description: 'The role is the membership’s: change it with PATCH /api/v1/users/:id/role.',
          params: UserIdParams,
          body: PutStaffProfile,
          response: { 200: StaffMember, ...changed },
        },
      },
      async (request) => app.staff.put(request.tenant, request.params.userId, request.body),
    );

    r.post(
      '/api/v1/staff/me/shift/start',
      {
        config: { permission: 'shifts:own' },
        schema: {
          tags,
          summary: 'Go on duty in a unit',
          description: 'The shift is worked in your membership role, in the unit’s hospital. 409 while one is open.',
          body: StartShift,
          response: { 201: Shift, ...changed },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.staff.startShift(request.tenant, request.tenant.user.id, request.body.unitId)),
    );

    r.post(
      '/api/v1/staff/me/shift/end',
      {
        config: { permission: 'shifts:own' },
        schema: { tags, summary: 'Go off duty (409 when no shift is open)', response: { 200: Shift, ...changed } },
      },
      async (request) => app.staff.endShift(request.tenant, request.tenant.user.id),
    );

    r.get(
      '/api/v1/staff/me/shifts',
      {
        config: { permission: 'shifts:own' },
        schema: {
          tags,
          summary: 'Your shifts, newest first',
          querystring: PageQuery,
          response: { 200: pageOf(Shift), ...commonErrors },
        },
      },
      async (request) => app.staff.shifts(request.tenant, request.tenant.user.id, request.query),
    );

    r.post(
      '/api/v1/staff/:userId/shift/start',
      {
        config: { permission: 'staff:manage' },
        schema: {
          tags,
          summary: "Start a member's shift for them",
          params: UserIdParams,
          body: StartShift,
          response: { 201: Shift, ...changed },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.staff.startShift(request.tenant, request.params.userId, request.body.unitId)),
    );

    r.post(
      '/api/v1/staff/:userId/shift/end',
      {
        config: { permission: 'staff:manage' },
        schema: {
          tags,
          summary: "End a member's shift for them",
          params: UserIdParams,
          response: { 200: Shift, ...changed },
        },
      },
      async (request) => app.staff.endShift(request.tenant, request.params.userId),
    );

    r.get(
      '/api/v1/staff/:userId/shifts',
      {
        config: { permission: 'staff:manage' },
        schema: {
          tags,
          summary: "A member's shifts, newest first",
          params: UserIdParams,
          querystring: PageQuery,
          response: { 200: pageOf(Shift), ...found },
        },
      },
      async (request) => app.staff.shifts(request.tenant, request.params.userId, request.query),
    );

    r.get(
      '/api/v1/units/:id/on-duty',
      {
        config: { permission: 'staff:read' },
        schema: {
          tags,
          summary: 'Who is on duty in a unit now, by role, and which roles nobody covers',
          params: IdParams,
          response: { 200: OnDuty, ...found },
        },
      },
      async (request) => app.staff.onDuty(request.tenant, request.params.id),
    );
  },
  { name: 'staff', dependencies: ['kit', 'tenancy', 'users', 'hospitals'] },
);
