import { z } from 'zod';
import { ROLES } from '../../platform/permissions.js';

export const Invitation = z
  .object({
    id: z.string().describe('Give this id to the invitee: they sign up (or sign in) and accept it.'),
    organizationId: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    status: z.enum(['pending', 'accepted', 'rejected', 'canceled']),
    expiresAt: z.date(),
    createdAt: z.date(),
  })
  .meta({ id: 'Invitation' });
export type Invitation = z.infer<typeof Invitation>;

export const CreateInvitation = z.object({
  email: z.email().transform((email) => email.toLowerCase()),
  role: z.enum(ROLES),
});
export type CreateInvitation = z.infer<typeof CreateInvitation>;

export const InvitationParams = z.object({ id: z.string().min(1).max(64) });
