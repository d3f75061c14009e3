import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaffedOrganization, DEMO_ROOT_EMAIL, seedDemoTenant } from '../src/demo/demo-tenant.js';
import { members, organizations, users } from '../src/platform/auth/auth.schema.js';
import { buildTestApp, PASSWORD, signIn, type TestApp } from './helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('demo tenant', () => {
  it('creates the tenant, its staff and a platform admin who can all sign in', async () => {
    const demo = await seedDemoTenant(t.app.auth, t.database.db, PASSWORD);
    expect(demo.emails).toEqual([
      DEMO_ROOT_EMAIL,
      'admin@demo.test',
      'manager@demo.test',
      'doctor@demo.test',
      'nurse@demo.test',
      'operator@demo.test',
    ]);
    const roles = await t.database.db
      .select({ email: users.email, role: members.role })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(eq(members.organizationId, demo.organizationId));
    expect(Object.fromEntries(roles.map((r) => [r.email, r.role]))).toEqual({
      'admin@demo.test': 'admin',
      'manager@demo.test': 'manager',
      'doctor@demo.test': 'doctor',
      'nurse@demo.test': 'nurse',
      'operator@demo.test': 'operator',
    });
    const [root] = await t.database.db.select({ role: users.role }).from(users).where(eq(users.email, DEMO_ROOT_EMAIL));
    expect(root?.role).toBe('admin');
    const profile = await t.app.inject({
      url: '/api/v1/profile',
      headers: { authorization: `Bearer ${await signIn(t.app, 'nurse@demo.test')}` },
    });
    expect(profile.json()).toMatchObject({ organizations: [{ id: demo.organizationId, role: 'nurse' }] });
  });

  it('leaves nothing behind when one account cannot be created', async () => {
    const staff = [
      { email: 'first.partial@example.test', name: 'First', role: 'doctor' as const },
      { email: 'nurse@demo.test', name: 'Taken', role: 'nurse' as const },
    ];
    await expect(
      createStaffedOrganization(t.app.auth, t.database.db, {
        name: 'Half Made',
        slug: 'half-made',
        synthetic: true,
        staff,
        password: PASSWORD,
      }),
    ).rejects.toThrow();
    const orgs = await t.database.db.select().from(organizations).where(eq(organizations.slug, 'half-made'));
    const people = await t.database.db
      .select()
      .from(users)
      .where(inArray(users.email, ['first.partial@example.test']));
    expect(orgs).toEqual([]);
    expect(people).toEqual([]);
  });
});
