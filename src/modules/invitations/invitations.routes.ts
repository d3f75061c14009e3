import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import { CreatedInvitation, CreateInvitation, Invitation, InvitationParams } from './invitations.schema.js';
import { InvitationsService } from './invitations.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    invitations: InvitationsService;
  }
}

export const invitationsModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('invitations', new InvitationsService(app.uow, app.now));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/invitations',
      {
        config: { permission: 'invitations:create', rateLimitOperation: 'invitations' },
        schema: {
          tags: ['invitations'],
          summary: 'Invite someone into the organization with a role',
          description:
            'Give the invitee both `id` and `token`. They sign up with `POST /api/auth/sign-up/email` (passing ' +
            '`invitationToken`) or sign in, ' +
            'then accepts with `POST /api/auth/organization/accept-invitation`. A new invitation for the same ' +
            'email cancels the previous one.',
          body: CreateInvitation,
          response: { 201: CreatedInvitation, ...commonErrors, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await app.invitations.create(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/invitations',
      {
        config: { permission: 'invitations:read' },
        schema: {
          tags: ['invitations'],
          summary: 'Pending invitations of the organization',
          querystring: PageQuery,
          response: { 200: pageOf(Invitation), ...commonErrors },
        },
      },
      async (request) => app.invitations.listPending(request.tenant, request.query),
    );

    r.delete(
      '/api/v1/invitations/:id',
      {
        config: { permission: 'invitations:cancel' },
        schema: {
          tags: ['invitations'],
          summary: 'Cancel a pending invitation',
          params: InvitationParams,
          response: { 200: Invitation, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.invitations.cancel(request.tenant, request.params.id),
    );
  },
  { name: 'invitations', dependencies: ['kit', 'tenancy'] },
);
