import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import {
  CreatedOrganization,
  CreateOrganization,
  Organization,
  OrganizationParams,
  UpdateOrganization,
} from './organizations.schema.js';
import { CreatedInvitation, CreateInvitation } from '../invitations/invitations.schema.js';
import { OrganizationsService } from './organizations.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    organizations: OrganizationsService;
  }
}

export const organizationsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('organizations', new OrganizationsService(app.database.db, app.uow, app.invitations));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/organizations',
      {
        config: { access: 'signed-in' },
        schema: {
          tags: ['organizations'],
          summary: "Organizations: all for a platform admin, otherwise the caller's own",
          querystring: PageQuery,
          response: { 200: pageOf(Organization), ...commonErrors },
        },
      },
      async (request) => app.organizations.list(request.ctx, request.query),
    );

    r.post(
      '/api/v1/organizations',
      {
        config: { access: 'platform-admin' },
        schema: {
          tags: ['organizations'],
          summary: 'Create an organization (platform admin)',
          body: CreateOrganization,
          response: { 201: CreatedOrganization, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.organizations.create(request.ctx, request.body)),
    );

    r.get(
      '/api/v1/organizations/:id',
      {
        config: { permission: 'organization:read', organizationParam: 'id' },
        schema: {
          tags: ['organizations'],
          summary: 'One organization the caller belongs to (any, for a platform admin)',
          params: OrganizationParams,
          response: { 200: Organization, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.organizations.get(request.ctx, request.params.id),
    );

    r.post(
      '/api/v1/organizations/:id/invitations',
      {
        config: { access: 'platform-admin' },
        schema: {
          tags: ['organizations'],
          summary: 'Invite someone into an organization (platform admin), e.g. a replacement admin',
          params: OrganizationParams,
          body: CreateInvitation,
          response: { 201: CreatedInvitation, ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await app.organizations.invite(request.ctx, request.params.id, request.body)),
    );

    r.patch(
      '/api/v1/organizations/:id',
      {
        config: { permission: 'organization:update', organizationParam: 'id' },
        schema: {
          tags: ['organizations'],
          summary: 'Rename an organization or change its slug (its admin, or a platform admin)',
          params: OrganizationParams,
          body: UpdateOrganization,
          response: { 200: Organization, ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => app.organizations.update(request.ctx, request.params.id, request.body),
    );
  },
  { name: 'organizations', dependencies: ['db', 'tenancy', 'invitations'] },
);
