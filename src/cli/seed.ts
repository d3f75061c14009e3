/**
 * `npm run seed -- --org "Riverside Clinic" --slug riverside --patients 5000 --seed 7`: an organization
 * of invented people, for evaluation and load tests: a hospital with units and rooms, one account per
 * role (admin@<slug>.test ... operator@<slug>.test, password DEMO_PASSWORD), staff on shift, and
 * patients with appointments, encounters, signed notes, diagnoses and vitals. The same --seed gives the
 * same people. All of it is one transaction: it is there entirely, or not at all.
 */
import { parseArgs } from 'node:util';
import { hashPassword } from 'better-auth/crypto';
import { SingleBar } from 'cli-progress';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../config.js';
import { seedClinicalData } from '../demo/clinical-data.js';
import { createStaffedOrganization, staffByRole } from '../demo/demo-tenant.js';
import { Slug } from '../modules/organizations/organizations.schema.js';
import { organizations } from '../platform/auth/auth.schema.js';
import { lockDataDir } from '../platform/db/data-dir-lock.js';
import { openDatabase } from '../platform/db/database.js';
import { plainText } from '../platform/http/text.js';
import { ROLES } from '../platform/permissions.js';

const USAGE =
  'Usage: npm run seed -- --org "Riverside Clinic" --slug riverside [--patients 5000] [--seed 7]\n' +
  '  Uses DATA_DIR (embedded PGlite; stop the server first) or DATABASE_URL, and DEMO_PASSWORD.';

class UsageError extends Error {}

function options() {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        org: { type: 'string' },
        slug: { type: 'string' },
        patients: { type: 'string' },
        seed: { type: 'string' },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const name = plainText(2, 200).safeParse(values.org);
  const slug = Slug.safeParse(values.slug);
  const patients = Number(values.patients ?? '1000');
  const seed = Number(values.seed ?? '1');
  const problems = [
    ...(name.success ? [] : ['--org: an organization name of 2 to 200 characters']),
    ...(slug.success ? [] : ['--slug: lowercase letters, digits and single hyphens, 2 to 63 characters']),
    ...(Number.isInteger(patients) && patients >= 0 && patients <= 1_000_000 ? [] : ['--patients: 0 to 1000000']),
    ...(Number.isInteger(seed) && seed >= 0 ? [] : ['--seed: a whole number']),
  ];
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return { name: name.data!, slug: slug.data!, patients, seed };
}

async function main(): Promise<void> {
  const args = options();
  const config = loadConfig();
  if (config.embedded) lockDataDir(config.DATA_DIR, 'seed');
  const database = config.DATABASE_URL
    ? await openDatabase({ url: config.DATABASE_URL, poolSize: 2 })
    : await openDatabase({ dataDir: config.pgliteDir });
  try {
    await database.migrate();
    const taken = await database.db
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.slug, args.slug));
    if (taken.length > 0) throw new UsageError(`--slug: an organization with the slug "${args.slug}" already exists`);

    const staff = ROLES.map((role) => ({
      email: `${role}@${args.slug}.test`,
      name: `${args.name} ${role[0]!.toUpperCase()}${role.slice(1)}`,
      role,
    }));
    const passwordHash = await hashPassword(config.DEMO_PASSWORD);
    const bar = new SingleBar({
      format: 'Seeding patients [{bar}] {percentage}% | {value}/{total} | {duration_formatted}',
      noTTYOutput: true,
      notTTYSchedule: 5_000,
    });
    const started = performance.now();
    bar.start(args.patients, 0);
    const summary = await database.db.transaction(async (tx) => {
      const created = await createStaffedOrganization(null, tx, {
        name: args.name,
        slug: args.slug,
        synthetic: true,
        staff,
        password: config.DEMO_PASSWORD,
        passwordHash,
      });
      return seedClinicalData(tx, {
        organizationId: created.organizationId,
        hospitalName: `${args.name} Hospital`,
        staff: staffByRole(staff, created.userIds),
        patients: args.patients,
        seed: args.seed,
        now: new Date(),
        onProgress: (done) => bar.update(done),
      });
    });
    bar.stop();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      [
        `Seeded the SYNTHETIC organization "${args.name}" (${args.slug}) in ${seconds} s: every person is invented.`,
        `  ${summary.patients} patients, ${summary.appointments} appointments, ${summary.encounters} encounters, ` +
          `${summary.vitals} vitals; ${summary.units} units, ${summary.rooms} rooms.`,
        `  ${summary.orders.medications} medications, ${summary.orders.labTests} lab tests, ` +
          `${summary.orders.prescriptions} prescriptions, ${summary.orders.labOrders} lab orders, ` +
          `${summary.orders.invoices} invoices, ${summary.orders.coverages} coverages.`,
        `  Accounts (password from DEMO_PASSWORD): ${staff.map((person) => person.email).join(', ')}`,
      ].join('\n'),
    );
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n${USAGE}`);
  else if (error instanceof ConfigError) console.error(`Cannot seed. ${error.message}`);
  else console.error('Seeding failed:', error);
  process.exit(error instanceof UsageError ? 2 : 1);
});
