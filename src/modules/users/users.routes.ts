import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import { ChangeRole, Member, UserParams } from './users.schema.js';
import { UsersService } from './users.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    users: UsersService;
  }
}

export const usersModule = fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'users',
      new UsersService(app.uow, app.sessions, app.memberships, {
        // Read when called: the staff module is registered after this one.
        leave: (ctx, userId) => app.staff.leaveRosters(ctx, userId),
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/users',
      {
        config: { permission: 'users:read' },
        schema: {
          tags: ['users'],
          summary: 'Members of the organization with their roles',
          querystring: PageQuery,
          response: { 200: pageOf(Member), ...commonErrors },
        },
      },
      async (request) => app.users.list(request.tenant, request.query),
    );

    r.patch(
      '/api/v1/users/:id/role',
      {
        config: { permission: 'users:update-role' },
        schema: {
          tags: ['users'],
          summary: "Change a member's role",
          params: UserParams,
          body: ChangeRole,
          response: { 200: Member, ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => app.users.changeRole(request.tenant, request.params.id, request.body.role),
    );

    r.delete(
      '/api/v1/users/:id',
      {
        config: { permission: 'users:remove' },
        schema: {
          tags: ['users'],
          summary: 'Remove a member from the organization and revoke their sessions',
          params: UserParams,
          response: { 204: z.null().describe('Removed'), ...commonErrors, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        await app.users.remove(request.tenant, request.params.id);
        return reply.code(204).send(null);
      },
    );
  },
  { name: 'users', dependencies: ['kit', 'tenancy'] },
);
