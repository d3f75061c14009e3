import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { asc, count, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { organizations } from '../src/platform/auth/auth.schema.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { patients } from '../src/modules/patients/patients.schema.js';
import { shifts } from '../src/modules/staff/staff.schema.js';
import { appointments } from '../src/modules/appointments/appointments.schema.js';
import { createScratchDatabase } from './helpers/test-app.js';

const run = promisify(execFile);
const PASSWORD = 'seeded-password-123';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A place for a seeded database: a PGlite folder, or a scratch PostgreSQL database. */
async function target(): Promise<{ env: Record<string, string>; open: () => Promise<Database>; dir?: string }> {
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL);
    cleanups.push(() => scratch.drop());
    return {
      env: { DATABASE_URL: scratch.url },
      open: () => openDatabase({ url: scratch.url, poolSize: 2 }),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'wardline-seed-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return { env: { DATA_DIR: dir }, open: () => openDatabase({ dataDir: join(dir, 'pglite') }), dir };
}

async function seed(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/seed.ts', ...args], {
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env, DEMO_PASSWORD: PASSWORD },
    });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

async function people(database: Database) {
  return database.db
    .select({ mrn: patients.mrn, given: patients.givenName, family: patients.familyName, born: patients.birthDate })
    .from(patients)
    .orderBy(asc(patients.mrn));
}

describe('npm run seed', () => {
  it('creates an organization of invented people whose accounts sign in, the same for the same seed', async () => {
    const first = await target();
    const seeded = await seed(
      first.env,
      '--org',
      'Riverside Clinic',
      '--slug',
      'riverside',
      '--patients',
      '40',
      '--seed',
      '7',
    );
    expect(seeded.code, seeded.out).toBe(0);
    expect(seeded.out).toContain('SYNTHETIC');
    expect(seeded.out).toContain('doctor@riverside.test');

    const database = await first.open();
    try {
      const [org] = await database.db.select().from(organizations).where(eq(organizations.slug, 'riverside'));
      expect(JSON.parse(org!.metadata!)).toEqual({ synthetic: true });
      const rows = await people(database);
      expect(rows).toHaveLength(40);
      expect(rows[0]!.mrn).toBe('MRN-000001');
      expect((await database.db.select({ n: count() }).from(shifts))[0]!.n).toBe(2);
      expect((await database.db.select({ n: count() }).from(appointments))[0]!.n).toBeGreaterThan(0);

      // The seeded accounts are real accounts: the doctor signs in with DEMO_PASSWORD.
      const secret = 'b'.repeat(40);
      const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_SECRET: secret }), {
        database,
        redis: null,
        authSecret: secret,
      });
      await app.ready();
      const signIn = await app.inject({
        method: 'POST',
        url: '/api/auth/sign-in/email',
        payload: { email: 'doctor@riverside.test', password: PASSWORD },
      });
      expect(signIn.statusCode).toBe(200);
      await app.close();

      const second = await target();
      const again = await seed(
        second.env,
        '--org',
        'Riverside Clinic',
        '--slug',
        'riverside',
        '--patients',
        '40',
        '--seed',
        '7',
      );
      expect(again.code, again.out).toBe(0);
      const copy = await second.open();
      expect(await people(copy)).toEqual(rows);
      await copy.close();
    } finally {
      await database.close();
    }
  }, 120_000);

  it('refuses a slug that exists, and bad arguments, with a clear message', async () => {
    const place = await target();
    expect((await seed(place.env, '--org', 'One', '--slug', 'one', '--patients', '0')).code).toBe(0);
    const twice = await seed(place.env, '--org', 'Two', '--slug', 'one', '--patients', '0');
    expect(twice.code).toBe(2);
    expect(twice.out).toContain('an organization with the slug "one" already exists');
    const bad = await seed(place.env, '--org', 'X', '--slug', 'Not A Slug', '--patients', '-3');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--slug');
    expect(bad.out).toContain('--patients');
  }, 120_000);

  it.skipIf(Boolean(process.env.DATABASE_URL))(
    'refuses while a running server holds the data folder',
    async () => {
      const place = await target();
      // This test's own process stands in for the server: alive, and holding the lock.
      writeFileSync(join(place.dir!, '.lock'), JSON.stringify({ pid: process.pid, what: 'server', since: 'now' }));
      const refused = await seed(place.env, '--org', 'Busy', '--slug', 'busy', '--patients', '1');
      expect(refused.code).toBe(1);
      expect(refused.out).toContain('is in use by a running Wardline server');
    },
    60_000,
  );
});
