import { eq } from 'drizzle-orm';
import type { Auth } from '../platform/auth/auth.js';
import { members, organizations } from '../platform/auth/auth.schema.js';
import { ensurePlatformAdmin, hashPassword, insertPasswordAccounts } from '../platform/auth/first-admin.js';
import type { Db, Executor } from '../platform/db/database.js';
import { inTransaction } from '../platform/db/transaction.js';
import { ROLES, type Role } from '../platform/permissions.js';
import { seedClinicalData } from './clinical-data.js';

/** Patients the demo tenant gets, each with some history. */
export const DEMO_PATIENTS = 300;

export const DEMO_ORGANIZATION = { name: 'Demo General Hospital', slug: 'demo-general-hospital' };
export const DEMO_ROOT_EMAIL = 'root@demo.test';

export interface StaffMember {
  email: string;
  name: string;
  role: Role;
}

/**
 * Creates an organization and an account plus membership for each staff member, all in one
 * transaction: a failure part-way leaves nothing behind. With `passwordHash` (hashPassword's result
 * for `password`), every account gets that hash instead of one made for it: tests make many
 * accounts, and hashing is slow by design.
 */
export async function createStaffedOrganization(
  auth: Auth | null,
  executor: Executor,
  input: {
    name: string;
    slug: string;
    synthetic: boolean;
    staff: StaffMember[];
    password: string;
    passwordHash?: string;
  },
) {
  // Hashing is slow by design: done before the transaction, which would otherwise hold PGlite meanwhile.
  const { passwordHash } = input;
  const hashes = passwordHash
    ? input.staff.map(() => passwordHash)
    : await Promise.all(
        input.staff.map(() => {
          if (!auth) throw new Error('without Better Auth, pass the password hash');
          return hashPassword(auth, input.password);
        }),
      );
  // On an open transaction this is a savepoint inside it.
  return executor.transaction(async (tx) => {
    const [organization] = await tx
      .insert(organizations)
      .values({ name: input.name, slug: input.slug, metadata: JSON.stringify({ synthetic: input.synthetic }) })
      .returning({ id: organizations.id });
    const organizationId = organization!.id;
    const ids = await insertPasswordAccounts(
      tx,
      input.staff.map((person, i) => ({ email: person.email, name: person.name, passwordHash: hashes[i]! })),
    );
    const userIds = Object.fromEntries(
      input.staff.map((person) => [person.email, ids.get(person.email.toLowerCase())!]),
    );
    await tx
      .insert(members)
      .values(input.staff.map((person) => ({ organizationId, userId: userIds[person.email]!, role: person.role })));
    return { organizationId, userIds };
  });
}

export async function hasDemoTenant(db: Db): Promise<boolean> {
  const rows = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.slug, DEMO_ORGANIZATION.slug));
  return rows.length > 0;
}

const titleCase = (word: string) => `${word[0]!.toUpperCase()}${word.slice(1)}`;

/** User ids by role, for staff made one per role. */
export function staffByRole(staff: StaffMember[], userIds: Record<string, string>): Record<Role, string> {
  return Object.fromEntries(staff.map((person) => [person.role, userIds[person.email]!])) as Record<Role, string>;
}

/**
 * The synthetic demo tenant: one organization, one user per role and a platform admin, a hospital
 * with units and rooms, staff on shift, and a few hundred patients with history, in one transaction.
 * Every person in it is invented; the organization is marked `synthetic` in its metadata.
 */
export async function seedDemoTenant(auth: Auth, db: Db, password: string, now: Date = new Date()) {
  const staff = ROLES.map((role) => ({ email: `${role}@demo.test`, name: `Demo ${titleCase(role)}`, role }));
  const { organizationId, userIds } = await inTransaction(db, async (tx) => {
    await ensurePlatformAdmin(auth, tx, { email: DEMO_ROOT_EMAIL, password, name: 'Demo Platform Admin' });
    const created = await createStaffedOrganization(auth, tx, {
      ...DEMO_ORGANIZATION,
      synthetic: true,
      staff,
      password,
    });
    await seedClinicalData(tx, {
      organizationId: created.organizationId,
      hospitalName: 'Demo General Hospital',
      staff: staffByRole(staff, created.userIds),
      patients: DEMO_PATIENTS,
      seed: 1,
      now,
    });
    return created;
  });
  return {
    organizationId,
    staff: staffByRole(staff, userIds),
    emails: [DEMO_ROOT_EMAIL, ...staff.map((s) => s.email)],
  };
}
