import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors } from '../../platform/http/errors.js';
import { ROLES } from '../../platform/permissions.js';

const Profile = z
  .object({
    user: z.object({ id: z.string(), email: z.string(), name: z.string(), platformAdmin: z.boolean() }),
    authMethod: z.enum(['session', 'bearer', 'api-key']),
    organizations: z.array(z.object({ id: z.string(), name: z.string(), slug: z.string(), role: z.enum(ROLES) })),
  })
  .meta({ id: 'Profile' });

/** GET /api/v1/profile: who the caller is and their role in each organization. */
export const profileModule = fp(
  async (app: FastifyInstance) => {
    app.withTypeProvider<ZodTypeProvider>().get(
      '/api/v1/profile',
      {
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
  },
  { name: 'profile', dependencies: ['tenancy', 'organizations'] },
);
