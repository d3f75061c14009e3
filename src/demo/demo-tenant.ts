import type { Auth } from '../platform/auth/auth.js';
import { members, organizations } from '../platform/auth/auth.schema.js';
import { ensurePlatformAdmin } from '../platform/auth/first-admin.js';
import type { Db } from '../platform/db/database.js';
import { ROLES } from '../platform/permissions.js';

export const DEMO_ORGANIZATION = { name: 'Demo General Hospital', slug: 'demo-general-hospital' };
export const DEMO_ROOT_EMAIL = 'root@demo.test';
export const demoEmail = (role: string) => `${role}@demo.test`;

/**
 * The synthetic demo tenant: one organization, one user per role and a platform admin. Every
 * person in it is invented; the organization is marked `synthetic` in its metadata.
 */
export async function seedDemoTenant(auth: Auth, db: Db, password: string) {
  await ensurePlatformAdmin(auth, db, { email: DEMO_ROOT_EMAIL, password, name: 'Demo Platform Admin' });
  const [organization] = await db
    .insert(organizations)
    .values({ ...DEMO_ORGANIZATION, metadata: JSON.stringify({ synthetic: true }) })
    .returning({ id: organizations.id });
  for (const role of ROLES) {
    const { user } = await auth.api.createUser({
      body: { email: demoEmail(role), password, name: `Demo ${role[0]!.toUpperCase()}${role.slice(1)}` },
    });
    await db.insert(members).values({ organizationId: organization!.id, userId: user.id, role });
  }
  return { organizationId: organization!.id, emails: [DEMO_ROOT_EMAIL, ...ROLES.map(demoEmail)] };
}
