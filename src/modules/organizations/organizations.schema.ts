import { z } from 'zod';
import { IdParams } from '../../platform/http/ids.js';
import { plainText } from '../../platform/http/text.js';

export const Slug = z
  .string()
  .min(2)
  .max(63)
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lowercase letters, digits and single hyphens');

export const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    createdAt: z.date(),
  })
  .meta({ id: 'Organization' });
export type Organization = z.infer<typeof Organization>;

export const OrganizationParams = IdParams;

const OrganizationName = plainText(2, 200);

export const CreateOrganization = z.object({
  name: OrganizationName,
  slug: Slug,
  adminEmail: z.email().optional().describe("Invite this person as the organization's first admin."),
});
export type CreateOrganization = z.infer<typeof CreateOrganization>;

export const UpdateOrganization = z
  .object({ name: OrganizationName, slug: Slug.describe('Platform admins only: a slug is unique across tenants.') })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change');
export type UpdateOrganization = z.infer<typeof UpdateOrganization>;

export const CreatedOrganization = Organization.extend({
  invitationId: z.string().nullable().describe('The invitation of adminEmail, if one was given.'),
  invitationToken: z.string().nullable().describe('Its sign-up token, shown once.'),
});
