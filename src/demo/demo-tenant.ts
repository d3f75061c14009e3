import { eq } from 'drizzle-orm';
import type { Auth } from '../platform/auth/auth.js';
import { members, organizations } from '../platform/auth/auth.schema.js';
import { ensurePlatformAdmin } from '../platform/auth/first-admin.js';
import type { Db } from '../platform/db/database.js';
import { ROLES, type Role } from '../platform/permissions.js';

export const DEMO_ORGANIZATION = { name: 'Demo General Hospital', slug: 'demo-general-hospital' };
export const DEMO_ROOT_EMAIL = 'root@demo.test';

export interface StaffMember {
  email: string;
  name: string;
  role: Role;
}

/** Creates an organization and an account plus membership for each staff member. */
export async function createStaffedOrganization(
  auth: Auth,
  db: Db,
  input: { name: string; slug: string; synthetic: boolean; staff: StaffMember[]; password: string },
) {
  const [organization] = await db
    .insert(organizations)
    .values({ name: input.name, slug: input.slug, metadata: JSON.stringify({ synthetic: input.synthetic }) })
    .returning({ id: organizations.id });
  const organizationId = organization!.id;
  const userIds: Partial<Record<string, string>> = {};
  for (const person of input.staff) {
    const { user } = await auth.api.createUser({
      body: { email: person.email, password: input.password, name: person.name },
    });
    await db.insert(members).values({ organizationId, userId: user.id, role: person.role });
    userIds[person.email] = user.id;
  }
  return { organizationId, userIds };
}

export async function hasDemoTenant(db: Db): Promise<boolean> {
  const rows = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.slug, DEMO_ORGANIZATION.slug));
  return rows.length > 0;
}

const titleCase = (word: string) => `${word[0]!.toUpperCase()}${word.slice(1)}`;

/**
 * The synthetic demo tenant: one organization, one user per role and a platform admin. Every
 * person in it is invented; the organization is marked `synthetic` in its metadata.
 */
export async function seedDemoTenant(auth: Auth, db: Db, password: string) {
  await ensurePlatformAdmin(auth, db, { email: DEMO_ROOT_EMAIL, password, name: 'Demo Platform Admin' });
  const staff = ROLES.map((role) => ({ email: `${role}@demo.test`, name: `Demo ${titleCase(role)}`, role }));
  const { organizationId } = await createStaffedOrganization(auth, db, {
    ...DEMO_ORGANIZATION,
    synthetic: true,
    staff,
    password,
  });
  return { organizationId, emails: [DEMO_ROOT_EMAIL, ...staff.map((s) => s.email)] };
}
