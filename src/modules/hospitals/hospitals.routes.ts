import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import {
  CreateHospital,
  CreateRoom,
  CreateUnit,
  Hospital,
  ListQuery,
  Room,
  Unit,
  UpdateHospital,
  UpdateRoom,
  UpdateUnit,
} from './hospitals.shapes.js';
import { HospitalsService } from './hospitals.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    hospitals: HospitalsService;
  }
}

const tags = ['hospitals'];
const read = { permission: 'hospitals:read' } as const;
const manage = { permission: 'hospitals:manage' } as const;
const found = { ...commonErrors, 404: ErrorBody };
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };
const deleted = { 204: z.null().describe('Deleted'), ...changed };
const DEACTIVATE = 'Send `active: false` to deactivate (kept for what refers to it, closed to anything new).';

/** Hospitals, units and rooms: every member reads them, admins (hospitals:manage) change them. */
export const hospitalsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('hospitals', new HospitalsService(app.uow, () => app.now()));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/hospitals',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Add a hospital',
          body: CreateHospital,
          response: { 201: Hospital, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.hospitals.createHospital(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/hospitals',
      {
        config: read,
        schema: {
          tags,
          summary: 'Hospitals of the organization',
          querystring: ListQuery,
          response: { 200: pageOf(Hospital), ...commonErrors },
        },
      },
      async (request) => app.hospitals.listHospitals(request.tenant, request.query),
    );

    r.get(
      '/api/v1/hospitals/:id',
      {
        config: read,
        schema: { tags, summary: 'A hospital', params: IdParams, response: { 200: Hospital, ...found } },
      },
      async (request) => app.hospitals.getHospital(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/hospitals/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Change, deactivate or make the default a hospital',
          description: `${DEACTIVATE} \`isDefault: true\` makes it the default and clears the previous one.`,
          params: IdParams,
          body: UpdateHospital,
          response: { 200: Hospital, ...changed },
        },
      },
      async (request) => app.hospitals.updateHospital(request.tenant, request.params.id, request.body),
    );

    r.delete(
      '/api/v1/hospitals/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Delete a hospital nothing refers to (409 otherwise: deactivate it)',
          params: IdParams,
          response: deleted,
        },
      },
      async (request, reply) => {
        await app.hospitals.deleteHospital(request.tenant, request.params.id);
        return reply.code(204).send(null);
      },
    );

    r.post(
      '/api/v1/hospitals/:id/units',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Add a unit (ward, department) to a hospital',
          params: IdParams,
          body: CreateUnit,
          response: { 201: Unit, ...changed },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.hospitals.createUnit(request.tenant, request.params.id, request.body)),
    );

    r.get(
      '/api/v1/hospitals/:id/units',
      {
        config: read,
        schema: {
          tags,
          summary: 'Units of a hospital',
          params: IdParams,
          querystring: ListQuery,
          response: { 200: pageOf(Unit), ...found },
        },
      },
      async (request) => app.hospitals.listUnits(request.tenant, request.params.id, request.query),
    );

    r.get(
      '/api/v1/units/:id',
      { config: read, schema: { tags, summary: 'A unit', params: IdParams, response: { 200: Unit, ...found } } },
      async (request) => app.hospitals.getUnit(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/units/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Change or deactivate a unit',
          description: DEACTIVATE,
          params: IdParams,
          body: UpdateUnit,
          response: { 200: Unit, ...changed },
        },
      },
      async (request) => app.hospitals.updateUnit(request.tenant, request.params.id, request.body),
    );

    r.delete(
      '/api/v1/units/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Delete a unit nothing refers to (409 otherwise: deactivate it)',
          params: IdParams,
          response: deleted,
        },
      },
      async (request, reply) => {
        await app.hospitals.deleteUnit(request.tenant, request.params.id);
        return reply.code(204).send(null);
      },
    );

    r.post(
      '/api/v1/units/:id/rooms',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Add a room to a unit',
          params: IdParams,
          body: CreateRoom,
          response: { 201: Room, ...changed },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.hospitals.createRoom(request.tenant, request.params.id, request.body)),
    );

    r.get(
      '/api/v1/units/:id/rooms',
      {
        config: read,
        schema: {
          tags,
          summary: 'Rooms of a unit',
          params: IdParams,
          querystring: ListQuery,
          response: { 200: pageOf(Room), ...found },
        },
      },
      async (request) => app.hospitals.listRooms(request.tenant, request.params.id, request.query),
    );

    r.get(
      '/api/v1/rooms/:id',
      { config: read, schema: { tags, summary: 'A room', params: IdParams, response: { 200: Room, ...found } } },
      async (request) => app.hospitals.getRoom(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/rooms/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Change or deactivate a room',
          description: DEACTIVATE,
          params: IdParams,
          body: UpdateRoom,
          response: { 200: Room, ...changed },
        },
      },
      async (request) => app.hospitals.updateRoom(request.tenant, request.params.id, request.body),
    );

    r.delete(
      '/api/v1/rooms/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Delete a room nothing refers to (409 otherwise: deactivate it)',
          params: IdParams,
          response: deleted,
        },
      },
      async (request, reply) => {
        await app.hospitals.deleteRoom(request.tenant, request.params.id);
        return reply.code(204).send(null);
      },
    );
  },
  { name: 'hospitals', dependencies: ['kit', 'tenancy'] },
);
