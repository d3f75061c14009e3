import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { type ExtractTablesWithRelations, sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';

/**
 * Without drizzle's relational API (`db.query.*`, unused): given the schema, drizzle builds a query
 * builder per table for every transaction it opens, which was a tenth of what opening one cost.
 */
type NoRelations = Record<string, never>;
export type Db = PgDatabase<PgQueryResultHKT, NoRelations>;
export type Tx = PgTransaction<PgQueryResultHKT, NoRelations, ExtractTablesWithRelations<NoRelations>>;
/** Anything a repository can run a query on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Applies pending migrations; safe to call from several processes at once on PostgreSQL. */
  migrate(): Promise<void>;
  /** A cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { url: string; poolSize: number }
  | {
      /** Folder for PGlite's files; `memory://` keeps the database in memory (tests). */
      dataDir: string;
      /**
       * A tarball from PGlite's `dumpDataDir()` to start from instead of running initdb; tests load
       * an already migrated database this way. Only for a new database (`memory://` or an empty folder).
       */
      loadDataDir?: Blob;
    };

export const migrationsFolder = fileURLToPath(new URL('../../../migrations', import.meta.url));

// Any fixed 64-bit number works; it only has to be the same for every Wardline process.
const MIGRATION_LOCK_KEY = 727_001;

/** Where `onePlanFor` finds a database's generic-plan connections. */
const genericPlanDbs = new WeakMap<Executor, Db>();

/**
 * Where to prepare a statement whose one plan serves every value: PostgreSQL re-plans a prepared
 * statement on every call (its custom plans) when it estimates that a plan for the values at hand
 * is cheaper than one for any value, which can cost as much as running it (a patient search: about
 * 1 ms of planning for a query of 0.8-1.1 ms). On the database, its generic-plan connections; a
 * transaction (already holding a connection) or PGlite: itself.
 */
export function onePlanFor(executor: Executor): Executor {
  return genericPlanDbs.get(executor) ?? executor;
}

/** Half the pool (at least one connection) for the statements prepared with one plan (`onePlanFor`). */
const genericPlanPoolSize = (poolSize: number) => Math.ceil(poolSize / 2);

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if ('url' in options) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
    // Its own connections: the setting is per session, and every other statement (unnamed ones too)
    // keeps PostgreSQL's choice. Set with SET as each connection opens, before the pool hands it out,
    // rather than as a startup option, which PgBouncer refuses and which would replace the URL's own
    // `options` and PGOPTIONS. Should it fail, PostgreSQL chooses, as elsewhere.
    const genericPool = new pg.Pool({
      connectionString: options.url,
      max: genericPlanPoolSize(options.poolSize),
      // pg-pool awaits this hook before it hands the connection out (its types say void).
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      onConnect: async (client) => {
        await client.query('set plan_cache_mode = force_generic_plan').catch(() => {});
      },
    });
    // A dropped idle connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    genericPool.on('error', () => {});
    const db = drizzlePg(pool) as unknown as Db;
    const genericPlans = drizzlePg(genericPool) as unknown as Db;
    genericPlanDbs.set(db, genericPlans);
    return {
      db,
      kind: 'postgres',
      async migrate() {
        const client = await pool.connect();
        try {
          await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
          await migratePg(drizzlePg(client), { migrationsFolder });
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
          client.release();
        }
      },
      async ping() {
        // Both pools: a search that cannot get a connection is as down as any other read.
        await Promise.all([db.execute(sql`select 1`), genericPlans.execute(sql`select 1`)]);
      },
      async close() {
        await Promise.all([pool.end(), genericPool.end()]);
      },
    };
  }

  if (!options.dataDir.startsWith('memory://')) mkdirSync(options.dataDir, { recursive: true });
  // Extensions the migrations create: btree_gist for exclusion constraints (no double-booking).
  const client = await PGlite.create({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    extensions: { btree_gist },
  });
  const db = drizzlePglite(client) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder });
    },
    async ping() {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}
