import { eq, inArray } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { seedDemoAlerts } from '../src/demo/demo-alerts.js';
import { DEMO_ORGANIZATION, DEMO_ROOT_EMAIL, seedDemoTenant } from '../src/demo/demo-tenant.js';
import { patients } from '../src/modules/patients/patients.schema.js';
import { members, organizations, users } from '../src/platform/auth/auth.schema.js';
import { as, buildTestApp, PASSWORD, signIn, type TestApp } from './helpers/test-app.js';

const STAFF = ['admin', 'manager', 'doctor', 'nurse', 'operator'].map((role) => `${role}@demo.test`);

let t: TestApp | undefined;
afterEach(() => t?.close());

describe('demo tenant', () => {
  it('creates the tenant, one member per role and a platform admin, who can all sign in', async () => {
    t = await buildTestApp();
    const demo = await seedDemoTenant(t.app.auth, t.database.db, PASSWORD);
    expect(demo.emails).toEqual([DEMO_ROOT_EMAIL, ...STAFF]);
    const roles = await t.database.db
      .select({ email: users.email, role: members.role })
      .from(members)
      .innerJoin(users, eq(users.id, members.userId))
      .where(eq(members.organizationId, demo.organizationId));
    expect(Object.fromEntries(roles.map((r) => [r.email, r.role]))).toEqual(
      Object.fromEntries(STAFF.map((email) => [email, email.split('@')[0]])),
    );
    for (const email of demo.emails) {
      const profile = await as(t.app, await signIn(t.app, email))({ method: 'GET', url: '/api/v1/profile' });
      expect(profile.statusCode, email).toBe(200);
      const body = profile.json();
      if (email === DEMO_ROOT_EMAIL) {
        expect(body.user.platformAdmin).toBe(true);
        expect(body.organizations).toEqual([]);
      } else {
        expect(body.user.platformAdmin).toBe(false);
        expect(body.organizations).toMatchObject([{ id: demo.organizationId, role: email.split('@')[0] }]);
      }
    }

    // Its alerts, raised through the alerts service: one active, one acknowledged, one resolved.
    expect(await seedDemoAlerts(t.database.db, t.app.alerts, demo.organizationId, demo.staff)).toBe(3);
    const nurse = as(t.app, await signIn(t.app, 'nurse@demo.test'));
    const open = (await nurse({ method: 'GET', url: '/api/v1/alerts' })).json();
    expect(open.data.map((a: { status: string }) => a.status).sort()).toEqual(['acknowledged', 'active']);
    const resolved = (await nurse({ method: 'GET', url: '/api/v1/alerts?status=resolved' })).json();
    expect(resolved.data).toHaveLength(1);
    for (const alert of [...open.data, ...resolved.data]) expect(alert.description).toMatch(/synthetic demo/);
    // The ward's nurse on duty was told of each.
    const told = (await nurse({ method: 'GET', url: '/api/v1/notifications' })).json();
    expect(told.data).toHaveLength(3);
  });

  it('leaves nothing behind when one account cannot be created', async () => {
    t = await buildTestApp();
    // The platform admin is created first, inside the transaction; the taken email fails after it.
    await t.app.auth.api.createUser({ body: { email: 'nurse@demo.test', password: PASSWORD, name: 'Taken' } });
    await expect(seedDemoTenant(t.app.auth, t.database.db, PASSWORD)).rejects.toThrow();
    const left = await t.database.db
      .select({ email: users.email })
      .from(users)
      .where(inArray(users.email, [DEMO_ROOT_EMAIL, ...STAFF]));
    expect(left.map((u) => u.email)).toEqual(['nurse@demo.test']);
    const orgs = await t.database.db.select().from(organizations).where(eq(organizations.slug, DEMO_ORGANIZATION.slug));
    expect(orgs).toEqual([]);
  });

  it('gives the same patients whenever in the day it runs', async () => {
    t = undefined; // each app is closed here
    const born = async (now: Date) => {
      const app = await buildTestApp();
      try {
        const demo = await seedDemoTenant(app.app.auth, app.database.db, PASSWORD, now);
        return await app.database.db
          .select({ mrn: patients.mrn, family: patients.familyName, born: patients.birthDate })
          .from(patients)
          .where(eq(patients.organizationId, demo.organizationId))
          .orderBy(patients.mrn);
      } finally {
        await app.close();
      }
    };
    const morning = await born(new Date('2026-03-10T00:00:05Z'));
    expect(morning.length).toBeGreaterThan(0);
    expect(await born(new Date('2026-03-10T23:59:55Z'))).toEqual(morning);
    // Two apps, each seeding the whole demo tenant: on PGlite on a slow spell of this machine it took 30 s.
  }, 120_000);

  it('refuses a password Better Auth would never accept at sign-in', async () => {
    t = await buildTestApp();
    await expect(seedDemoTenant(t.app.auth, t.database.db, 'x'.repeat(129))).rejects.toThrow(/12 to 128 characters/);
  });
});
