import { z } from 'zod';
import { IdParams } from '../../platform/http/ids.js';
import { ROLES } from '../../platform/permissions.js';

export const Member = z
  .object({
    id: z.string().describe('The user id.'),
    name: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    twoFactorEnabled: z.boolean(),
    joinedAt: z.date(),
  })
  .meta({ id: 'Member' });
export type Member = z.infer<typeof Member>;

export const UserParams = IdParams;
export const ChangeRole = z.object({ role: z.enum(ROLES) });
