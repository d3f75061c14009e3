import { z } from 'zod';
import { IdParams } from '../../platform/http/ids.js';
import { ROLES } from '../../platform/permissions.js';

export const Invitation = z
  .object({
    id: z.string().describe('The invitee accepts with it (POST /api/auth/organization/accept-invitation).'),
    organizationId: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    status: z.enum(['pending', 'accepted', 'rejected', 'canceled']),
    expiresAt: z.date(),
    createdAt: z.date(),
  })
  .meta({ id: 'Invitation' });
export type Invitation = z.infer<typeof Invitation>;

export const CreatedInvitation = Invitation.extend({
  token: z
    .string()
    .describe(
      'Shown once. The invitee passes it as invitationToken to POST /api/auth/sign-up/email; ' +
        'list responses never include it.',
    ),
}).meta({ id: 'CreatedInvitation' });
export type CreatedInvitation = z.infer<typeof CreatedInvitation>;

export const CreateInvitation = z.object({
  email: z.email().transform((email) => email.toLowerCase()),
  role: z.enum(ROLES),
});
export type CreateInvitation = z.infer<typeof CreateInvitation>;

export const InvitationParams = IdParams;
