/**
 * The credential an admin load test runs with. A hospital's data is never touched: the run acts as a
 * doctor of a dedicated SYNTHETIC organization (`wardline-load-test`, invented patients, marked
 * `synthetic` and `loadTest` in its metadata), made on the first run. Its accounts have no password
 * and cannot sign in; the run gets a session of its doctor that only this process knows (never
 * returned, never logged), deleted when the run ends (or stops, fails, or the server shuts down), and
 * any session of that account left by a crash is deleted before the next run starts. Everything the
 * run reads and writes is audited in that organization's chain, with the start and the end of the
 * run under the platform admin who asked for it.
 */
import { eq, inArray } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { seedClinicalData } from '../../demo/clinical-data.js';
import { members, organizations, sessions, users } from '../auth/auth.schema.js';
import { AppError } from '../http/errors.js';
import { ROLES, type Role } from '../permissions.js';

export const LOAD_TEST_ORGANIZATION = { name: 'Wardline Load Test (synthetic)', slug: 'wardline-load-test' };
const email = (role: Role) => `load-test-${role}@wardline-load-test.invalid`;

/** The synthetic organization and its doctor, made (with `patients` invented patients) if missing. */
export async function ensureLoadTestOrganization(
  app: FastifyInstance,
  patients: number,
): Promise<{ organizationId: string; userId: string }> {
  const { db } = app.database;
  const [found] = await db
    .select({ id: organizations.id, metadata: organizations.metadata })
    .from(organizations)
    .where(eq(organizations.slug, LOAD_TEST_ORGANIZATION.slug));
  if (found) {
    const metadata = JSON.parse(found.metadata ?? '{}') as { synthetic?: boolean; loadTest?: boolean };
    if (!metadata.synthetic || !metadata.loadTest) {
      throw new AppError(
        'CONFLICT',
        `the slug ${LOAD_TEST_ORGANIZATION.slug} belongs to an organization that is not the synthetic load-test one`,
      );
    }
    const [doctor] = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, email('doctor')));
    if (!doctor) throw new AppError('CONFLICT', 'the load-test organization has no doctor account');
    return { organizationId: found.id, userId: doctor.id };
  }
  return db.transaction(async (tx) => {
    const [organization] = await tx
      .insert(organizations)
      .values({
        ...LOAD_TEST_ORGANIZATION,
        metadata: JSON.stringify({ synthetic: true, loadTest: true }),
      })
      .returning({ id: organizations.id });
    const organizationId = organization!.id;
    // No account rows: no password, so nobody signs in as them.
    const created = await tx
      .insert(users)
      .values(ROLES.map((role) => ({ email: email(role), name: `Load test ${role}`, role: 'user' })))
      .returning({ id: users.id, email: users.email });
    const byRole = Object.fromEntries(
      ROLES.map((role) => [role, created.find((u) => u.email === email(role))!.id]),
    ) as Record<Role, string>;
    await tx.insert(members).values(ROLES.map((role) => ({ organizationId, userId: byRole[role], role })));
    await seedClinicalData(tx, {
      organizationId,
      hospitalName: 'Load Test Hospital',
      staff: byRole,
      patients,
      seed: 12,
      now: app.now(),
    });
    return { organizationId, userId: byRole.doctor };
  });
}

/** Deletes every session of the account (database and cache), e.g. one a crash left behind. */
export async function endSessionsOf(app: FastifyInstance, userId: string): Promise<void> {
  const rows = await app.database.db
    .select({ token: sessions.token })
    .from(sessions)
    .where(eq(sessions.userId, userId));
  if (rows.length === 0) return;
  const { internalAdapter } = await app.auth.$context;
  await internalAdapter.deleteSessions(rows.map((row) => row.token));
  // Without the cache in front, deleteSessions may leave the rows to the database's own expiry.
  await app.database.db.delete(sessions).where(
    inArray(
      sessions.token,
      rows.map((row) => row.token),
    ),
  );
}

/** A new session of the account, for one run: its token stays in this process. */
export async function openRunSession(app: FastifyInstance, userId: string, seconds: number): Promise<string> {
  const { internalAdapter } = await app.auth.$context;
  const session = await internalAdapter.createSession(
    userId,
    false,
    {
      expiresAt: new Date(Date.now() + seconds * 1000),
      ipAddress: '127.0.0.1',
      userAgent: 'wardline-load-test',
    },
    true,
  );
  if (!session) throw new Error('could not open a session for the load test');
  return session.token;
}
