import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { PageQuery, pageOf } from '../../platform/http/pagination.js';
import { ROLES } from '../../platform/permissions.js';
import { ProfileService } from './profile.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    profile: ProfileService;
  }
}

const Profile = z
  .object({
    user: z.object({ id: z.string(), email: z.string(), name: z.string(), platformAdmin: z.boolean() }),
    authMethod: z.enum(['session', 'bearer', 'api-key']),
    organizations: z.array(z.object({ id: z.string(), name: z.string(), slug: z.string(), role: z.enum(ROLES) })),
  })
  .meta({ id: 'Profile' });

const Session = z
  .object({
    id: z.string(),
    createdAt: z.date(),
    updatedAt: z.date().describe('Last refreshed (sliding expiry).'),
    expiresAt: z.date(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    current: z.boolean().describe('The session this request was made with.'),
  })
  .meta({ id: 'Session' });

/** The caller: who they are, their role in each organization, and their own sessions. */
export const profileModule = fp(
  async (app: FastifyInstance) => {
    app.decorate('profile', new ProfileService(app.database.db, app.sessions, app.now, app.auditLog));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/profile',
      {
        config: { access: 'signed-in' },
        schema: {
          tags: ['profile'],
          summary: 'The caller, their organizations and role in each',
          response: { 200: Profile, ...commonErrors },
        },
      },
      async (request) => {
        const { ctx } = request;
        const organizations = await app.organizations.ofMemberships(ctx);
        return { user: ctx.user, authMethod: ctx.authMethod, organizations };
      },
    );

    r.get(
      '/api/v1/profile/sessions',
      {
        config: { access: 'signed-in' },
        schema: {
          tags: ['profile'],
          summary: "The caller's live sessions (sign-ins and bearer tokens), without their tokens",
          querystring: PageQuery,
          response: { 200: pageOf(Session), ...commonErrors },
        },
      },
      async (request) => app.profile.listSessions(request.ctx, request.query),
    );

    r.delete(
      '/api/v1/profile/sessions/:id',
      {
        config: { access: 'signed-in' },
        schema: {
          tags: ['profile'],
          summary: 'Sign out one of your sessions',
          params: IdParams,
          response: { 204: z.null().describe('Signed out'), ...commonErrors, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        await app.profile.revokeSession(request.ctx, request.params.id);
        return reply.code(204).send(null);
      },
    );
  },
  { name: 'profile', dependencies: ['db', 'kit', 'tenancy', 'organizations'] },
);
