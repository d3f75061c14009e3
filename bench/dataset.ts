/**
 * The benchmark's database: 100,000 synthetic patients (with their history) seeded once and kept,
 * keyed by the migrations' hash, so a run only copies it:
 *   PostgreSQL  a template database `wardline_bench_<patients>_<hash>`; each run makes its own
 *               database from it (CREATE DATABASE ... TEMPLATE) and drops it at the end.
 *   PGlite      a seeded data folder under <tmpdir>/wardline-bench/; each server of a run gets a copy.
 * A changed migration means a new seed (the old one is removed on PostgreSQL, left to age out in tmp).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { hashPassword } from 'better-auth/crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { seedClinicalData } from '../src/demo/clinical-data.js';
import { createStaffedOrganization, staffByRole } from '../src/demo/demo-tenant.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { ROLES } from '../src/platform/permissions.js';
import { migrationsHash, withDatabase } from '../test/helpers/template.js';

export const BENCH_ORG = { name: 'Bench General', slug: 'bench' };
export const BENCH_PASSWORD = 'bench-password-123';
/** The account the scenarios use: a doctor reads, searches and registers patients. */
export const BENCH_EMAIL = `doctor@${BENCH_ORG.slug}.test`;

export interface SeedReport {
  /** Whether this run had to seed (false: the kept copy was used). */
  seeded: boolean;
  seconds: number;
}

async function seedInto(database: Database, patients: number, log: (line: string) => void): Promise<void> {
  await database.migrate();
  const staff = ROLES.map((role) => ({ email: `${role}@${BENCH_ORG.slug}.test`, name: `Bench ${role}`, role }));
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  let reported = 0;
  await database.db.transaction(async (tx) => {
    const created = await createStaffedOrganization(null, tx, {
      ...BENCH_ORG,
      synthetic: true,
      staff,
      password: BENCH_PASSWORD,
      passwordHash,
    });
    await seedClinicalData(tx, {
      organizationId: created.organizationId,
      hospitalName: `${BENCH_ORG.name} Hospital`,
      staff: staffByRole(staff, created.userIds),
      patients,
      seed: 1,
      now: new Date(),
      onProgress: (done) => {
        if (done - reported >= 10_000 || done === patients) {
          reported = done;
          log(`  seeded ${done} / ${patients} patients`);
        }
      },
    });
  });
}

const pgliteVersion = () => {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
};

export const BENCH_CACHE_DIR = join(tmpdir(), 'wardline-bench');

/**
 * Fills a freshly migrated PGlite database from an older seed, table by table (COPY with the old
 * table's columns, triggers off: the audit chain is copied as it is). Throws when a table no longer
 * fits; the caller then seeds from scratch.
 */
async function transplantPglite(from: string, into: Database): Promise<void> {
  const old = await PGlite.create({ dataDir: from, extensions: { btree_gist } });
  const client = (into.db as unknown as { $client: PGlite }).$client;
  try {
    const tables = await old.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'",
    );
    await client.exec("set session_replication_role = 'replica'");
    for (const { table_name: table } of tables.rows) {
      const columns = await old.query<{ column_name: string }>(
        "select column_name from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position",
        [table],
      );
      const list = columns.rows.map((c) => `"${c.column_name}"`).join(', ');
      const out = await old.query(`copy public."${table}" (${list}) to '/dev/blob'`);
      if (!out.blob || out.blob.size === 0) continue;
      await client.query(`copy public."${table}" (${list}) from '/dev/blob'`, [], { blob: out.blob });
    }
    await client.exec("set session_replication_role = 'origin'");
  } finally {
    await old.close();
  }
}

/** The seeded PGlite folder for these migrations, made if missing (from an older seed when there is one). */
export async function ensurePgliteSeed(patients: number, log: (line: string) => void, reseed = false) {
  const name = `pglite-${pgliteVersion()}-${migrationsHash()}-${patients}`;
  const path = join(BENCH_CACHE_DIR, name);
  mkdirSync(BENCH_CACHE_DIR, { recursive: true });
  if (existsSync(join(path, 'PG_VERSION'))) return { path, report: { seeded: false, seconds: 0 } };
  const older = readdirSync(BENCH_CACHE_DIR).find(
    (other) => other.startsWith(`pglite-${pgliteVersion()}-`) && other.endsWith(`-${patients}`),
  );
  const started = performance.now();
  let seeded = false;
  if (older && !reseed) {
    log(`Copying the seed ${older} (older migrations) into a database with the current ones...`);
    const building = `${path}.${randomBytes(4).toString('hex')}.building`;
    try {
      await build(building, (database) => transplantPglite(join(BENCH_CACHE_DIR, older), database));
      renameSync(building, path);
      seeded = true;
    } catch (error) {
      log(`  it does not fit the current tables (${(error as Error).message}); seeding from scratch.`);
      rmSync(building, { recursive: true, force: true });
    }
  }
  if (!seeded) {
    log(`Seeding ${patients} patients into a PGlite folder kept in ${path} (once per set of migrations)...`);
    const building = `${path}.${randomBytes(4).toString('hex')}.building`;
    await build(building, (database) => seedInto(database, patients, log));
    renameSync(building, path);
  }
  // Older seeds (other migrations) are a few hundred MB each.
  for (const other of readdirSync(BENCH_CACHE_DIR)) {
    if (other.startsWith('pglite-') && other !== name && !other.endsWith('.building'))
      rmSync(join(BENCH_CACHE_DIR, other), { recursive: true, force: true });
  }
  return { path, report: { seeded: true, seconds: (performance.now() - started) / 1000 } };
}

async function build(dataDir: string, fill: (database: Database) => Promise<void>): Promise<void> {
  const database = await openDatabase({ dataDir });
  try {
    await database.migrate();
    await fill(database);
    // As the PostgreSQL template is left: vacuumed and analyzed (PGlite runs no autovacuum; a server
    // does this itself only every few minutes, see src/platform/db/maintenance.ts).
    await database.db.execute(sql`vacuum analyze`);
    await database.db.execute(sql`checkpoint`);
  } finally {
    await database.close();
  }
}

/** A copy of the seeded folder for one server of this run, laid out as DATA_DIR (PGlite in DATA_DIR/pglite). */
export function copyPgliteSeed(seed: string, runDir: string, server: string): string {
  const dataDir = join(runDir, server);
  cpSync(seed, join(dataDir, 'pglite'), { recursive: true });
  return dataDir;
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * The template database for these migrations, seeded if missing, and a fresh database made from it
 * for this run. Returns the run database's URL and a function that drops it.
 */
export async function postgresRunDatabase(url: string, patients: number, log: (line: string) => void, reseed = false) {
  const prefix = `wardline_bench_${patients >= 1000 ? `${patients / 1000}k` : patients}_`;
  const template = `${prefix}${migrationsHash()}`;
  let report: SeedReport = { seeded: false, seconds: 0 };
  const existing = await withAdmin(url, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'wardline_bench_%'",
    );
    return rows.map((row) => row.datname);
  });
  const older = existing.find((name) => name.startsWith(prefix) && /^[a-z0-9_]+_[0-9a-f]{16}$/.test(name));
  if (!existing.includes(template)) {
    const started = performance.now();
    const fromOlder = older && !reseed ? older : undefined;
    const made =
      (fromOlder &&
        (await buildTemplate(url, template, fromOlder, patients, log).catch((error: unknown) => {
          log(
            `  it does not fit the current tables (${(error as Error).message.slice(0, 300)}); seeding from scratch.`,
          );
          return false;
        }))) ||
      (await buildTemplate(url, template, undefined, patients, log));
    if (!made) throw new Error('could not make the benchmark database');
    report = { seeded: true, seconds: (performance.now() - started) / 1000 };
    // Templates of older migrations are dropped; run databases left by an interrupted run too.
    await withAdmin(url, async (admin) => {
      for (const name of existing.filter((n) => n !== template && /^wardline_bench_\d+k?_[0-9a-f]{16}$/.test(n))) {
        await admin.query(`alter database ${name} is_template false`);
        await admin.query(`drop database if exists ${name} with (force)`);
      }
    });
  }
  const run = `wardline_benchrun_${randomBytes(4).toString('hex')}`;
  await withAdmin(url, (admin) => admin.query(`create database ${run} template ${template}`));
  return {
    url: withDatabase(url, run),
    report,
    drop: () => withAdmin(url, (admin) => admin.query(`drop database if exists ${run} with (force)`)),
  };
}

/**
 * Makes the template `name`: the current migrations, then the data of the older template `from`
 * (pg_dump --data-only of the public schema into it, triggers off, so the audit chain is copied as
 * it is) or, without one, a fresh seed. Seeding takes minutes; migrations change often while a
 * feature is built, and copying the rows over takes a fraction of it.
 */
async function buildTemplate(
  url: string,
  name: string,
  from: string | undefined,
  patients: number,
  log: (line: string) => void,
): Promise<boolean> {
  const building = `${name}_b${randomBytes(3).toString('hex')}`;
  log(
    from
      ? `Copying the seed ${from} (older migrations) into ${name}, with the current migrations...`
      : `Seeding ${patients} patients into the template database ${name} (once per set of migrations)...`,
  );
  await withAdmin(url, (admin) => admin.query(`create database ${building}`));
  try {
    const database = await openDatabase({ url: withDatabase(url, building), poolSize: 2 });
    try {
      await database.migrate();
      if (from) {
        await withAdmin(url, (admin) => admin.query(`alter database ${from} with allow_connections true`));
        try {
          await copyData(withDatabase(url, from), withDatabase(url, building));
        } finally {
          await withAdmin(url, (admin) => admin.query(`alter database ${from} with allow_connections false`));
        }
      } else {
        await seedInto(database, patients, log);
      }
      await database.db.execute(sql`vacuum analyze`);
    } finally {
      await database.close();
    }
    await withAdmin(url, async (admin) => {
      await admin.query(`alter database ${building} rename to ${name}`);
      await admin.query(`alter database ${name} with is_template true allow_connections false`);
    });
    return true;
  } catch (error) {
    await withAdmin(url, (admin) => admin.query(`drop database if exists ${building} with (force)`)).catch(() => {});
    throw error;
  }
}

function copyData(from: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const dump = spawn('pg_dump', ['--data-only', '--disable-triggers', '--schema=public', '--no-owner', from], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const restore = spawn('psql', ['-q', '-v', 'ON_ERROR_STOP=1', into], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    dump.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    restore.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    dump.stdout.pipe(restore.stdin);
    restore.on('close', (code) => {
      if (code === 0 && dump.exitCode === 0) resolve();
      else reject(new Error(errors.trim() || `pg_dump | psql exited ${dump.exitCode} / ${code}`));
    });
  });
}
