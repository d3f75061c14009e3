import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { migrationsFolder, openDatabase } from '../../src/platform/db/database.js';

// Every test app used to start with initdb and every migration: seconds of CPU each. Instead, one
// migrated database is made per run (PostgreSQL) or per set of migrations (PGlite, kept on disk),
// and each app starts from a copy. The app still calls migrate() on its copy, a no-op unless a
// migration was added since the template was made.

/** Hash of every file under migrations/ (names and contents): a changed migration means a new template. */
export function migrationsHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(relative(migrationsFolder, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(migrationsFolder);
  return hash.digest('hex').slice(0, 16);
}

const TEMPLATE_DIR = join(tmpdir(), 'wardline-test-templates');
/** Files of other migration sets are removed once this old: a run still using one has long finished. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** Changes when the way the PGlite template is made changes, so older files are not used. */
const RECIPE = 'slim1';

/**
 * A gzipped dump of a migrated PGlite database, made unless one for these migrations (and this
 * PGlite version) is already on disk. Returns its path.
 */
export async function ensurePgliteTemplate(): Promise<string> {
  // The dump's layout is PGlite's own: another PGlite version gets its own template.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const name = `pglite-${version}-${RECIPE}-${migrationsHash()}.tar.gz`;
  const path = join(TEMPLATE_DIR, name);
  mkdirSync(TEMPLATE_DIR, { recursive: true });
  for (const file of readdirSync(TEMPLATE_DIR)) {
    const other = join(TEMPLATE_DIR, file);
    if (file !== name && Date.now() - statSync(other).mtimeMs > STALE_AFTER_MS) rmSync(other, { force: true });
  }
  try {
    statSync(path);
    return path;
  } catch {
    // Not made yet.
  }
  // Every app unpacks the dump into memory and starts on it, so it is kept small: 1 MB WAL segments
  // instead of 16 MB, and without template0 and template1, which no test copies on PGlite.
  const empty = await PGlite.create({ initDbStartParams: ['--wal-segsize=1'] });
  const initialized = await empty.dumpDataDir('none');
  await empty.close();
  const database = await openDatabase({ dataDir: 'memory://', loadDataDir: initialized });
  try {
    await database.migrate();
    const client = (database.db as unknown as { $client: PGlite }).$client;
    for (const template of ['template0', 'template1']) {
      await client.exec(`alter database ${template} is_template false`);
      await client.exec(`drop database ${template}`);
    }
    await client.exec('checkpoint');
    const dump = await client.dumpDataDir('gzip');
    // Written aside then renamed, so a concurrent run never reads half a file.
    const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, path);
  } finally {
    await database.close();
  }
  return path;
}

let loaded: Blob | undefined;

/** The template as a tar, read and unzipped once per test process. */
export function loadPgliteTemplate(path: string): Blob {
  loaded ??= new Blob([gunzipSync(readFileSync(path))]);
  return loaded;
}

/** A database URL with another database name. */
export function withDatabase(url: string, name: string): string {
  const other = new URL(url);
  other.pathname = `/${name}`;
  return other.toString();
}

/**
 * Creates and migrates a template database for this run on the server at `url`. It accepts no
 * connections once made, so that CREATE DATABASE ... TEMPLATE never finds it in use. Returns its
 * name and a function that drops it.
 */
export async function createPostgresTemplate(url: string) {
  const name = `wardline_tmpl_${migrationsHash()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
    const database = await openDatabase({ url: withDatabase(url, name), poolSize: 1 });
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
    await admin.query(`alter database ${name} with is_template true allow_connections false`);
  } catch (error) {
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    throw error;
  } finally {
    await admin.end();
  }
  return {
    name,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`alter database ${name} is_template false`);
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
