import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { type ExtractTablesWithRelations, type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePg, NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { type PgDatabase, PgDialect, type PgQueryResultHKT, type PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { databaseError } from '../http/errors.js';
import { PreparingPGlite } from './pglite-statements.js';
import { ReadLanes, STALE_STATEMENT, socketOf } from './read-lanes.js';

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
  /**
   * Runs `work` in one transaction, then the statements `closing` returns (they see all `work` did;
   * inserts and updates, without placeholders or rows to return), then COMMIT; anything that fails
   * rolls it all back. On PostgreSQL the connection is pipelined: BEGIN is sent without waiting for
   * its answer, so it reaches the server with `work`'s first statement, and the closing statements go
   * out with the COMMIT. A write that runs one statement of its own costs two round trips, not four;
   * one whose statements wait for no answer before the COMMIT, one. A COMMIT that the server answers
   * with ROLLBACK (a statement failed and `work` went on) is an error, not a success, on both databases
   * (drizzle's own node-postgres transaction reports it as committed). `sentAhead`: the answers of
   * statements `work` sent without waiting for them (`Work.answerAtCommit`). When the transaction
   * fails, the first of them that failed is its error (it caused the rollback and the refusals after
   * it), unless `work` threw an error of its own; and one that met a stale statement closes the
   * connection, as any other statement would.
   */
  transaction<T>(
    work: (tx: Tx) => Promise<T>,
    closing?: () => SQL[],
    sentAhead?: () => readonly Promise<unknown>[],
  ): Promise<T>;
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

/** Names of the closing statements that are prepared once per connection (`closingStatement`). */
const statementNames = new WeakMap<SQL, string>();

/**
 * A closing statement of `Database.transaction` whose text never changes: on PostgreSQL each
 * connection prepares it once under `name` (unique to this text) rather than parsing and planning it
 * at every commit. (PGlite prepares every statement of a transaction: pglite-statements.ts.)
 */
export function closingStatement(name: string, statement: SQL): SQL {
  statementNames.set(statement, name);
  return statement;
}

export const migrationsFolder = fileURLToPath(new URL('../../../migrations', import.meta.url));

// Any fixed 64-bit number works; it only has to be the same for every Wardline process.
const MIGRATION_LOCK_KEY = 727_001;

/** Where `readLanesFor` finds a database's read lanes. */
const readLaneDbs = new WeakMap<Executor, Db>();

/**
 * Where to run a short, hot read that is prepared once (a patient by id, a bounded name search): on the
 * database, its read lanes (`ReadLanes`: a few shared connections in pipeline mode, whose sessions keep
 * one generic plan per prepared statement); in a transaction (which must see its own writes) or on
 * PGlite, the executor itself.
 *
 * One plan: PostgreSQL re-plans a prepared statement on every call (its custom plans) when it
 * estimates that a plan for the values at hand is cheaper than one for any value, which can cost as
 * much as running it (a patient search: about 1 ms of planning for a query of 0.8-1.1 ms).
 */
export function readLanesFor(executor: Executor): Executor {
  return readLaneDbs.get(executor) ?? executor;
}

/** Read lanes for a pool of `poolSize`: a quarter as many, at least two. */
export const readLaneCount = (poolSize: number) => Math.max(2, Math.ceil(poolSize / 4));

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if ('url' in options) {
    // Pipelined: a client sends each query as it is asked, without waiting for the one before to be
    // answered (`transaction` relies on it; a lone query is unchanged).
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, pipeline: true });
    const lanes = new ReadLanes(options.url, readLaneCount(options.poolSize));
    // A dropped connection must not crash the process. pg-pool listens for an idle connection's
    // errors only; one a write or a migration holds when the server goes away (a restart, a failover)
    // emits 'error' with no listener. Its queries fail with the error, and the pool discards it when
    // it is released.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = drizzlePg(pool) as unknown as Db;
    // drizzle's node-postgres session takes any client with pg's `query`. A transaction there would
    // send its statements down different lanes: refused.
    const laneDb = drizzlePg(lanes as unknown as pg.Pool) as unknown as Db;
    laneDb.transaction = () => Promise.reject(new Error('the read lanes run no transactions'));
    readLaneDbs.set(db, laneDb);
    const dialect = new PgDialect();
    return {
      db,
      kind: 'postgres',
      transaction: (work, closing, sentAhead) => pipelinedTransaction(pool, dialect, work, closing, sentAhead),
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
        // The pool and the lanes: a read that cannot get a connection is as down as any other.
        await Promise.all([db.execute(sql`select 1`), laneDb.execute(sql`select 1`)]);
      },
      async close() {
        await Promise.all([pool.end(), lanes.end()]);
      },
    };
  }

  if (!options.dataDir.startsWith('memory://')) mkdirSync(options.dataDir, { recursive: true });
  // Extensions the migrations create: btree_gist for exclusion constraints (no double-booking).
  // Its queries (a transaction's too) run as named statements, parsed once (pglite-statements.ts).
  const client = await PreparingPGlite.open({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    extensions: { btree_gist },
  });
  const db = drizzlePglite(client) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async transaction(work, closing, sentAhead) {
      let worked = false;
      try {
        return await db.transaction(async (tx) => {
          const value = await work(tx);
          worked = true;
          for (const statement of closing?.() ?? []) await tx.execute(statement);
          return value;
        });
      } catch (error) {
        throw await causeOf(error, worked, sentAhead);
      }
    },
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder });
    },
    async ping() {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

export { STALE_STATEMENT };

/**
 * What a failed transaction reports: the first failed statement of those its work sent without waiting
 * (they come first in the transaction: what failed after them may only follow from them), unless the
 * work itself failed with an error of its own, not the database's.
 */
async function causeOf(
  error: unknown,
  worked: boolean,
  sentAhead: (() => readonly Promise<unknown>[]) | undefined,
): Promise<unknown> {
  if (!worked && databaseError(error).code === undefined) return error;
  for (const answer of await Promise.allSettled(sentAhead?.() ?? [])) {
    if (answer.status === 'rejected') return answer.reason;
  }
  return error;
}

/** An error the server answered with, that ended the statement (or transaction) but not the connection. */
const isPlainError = (error: unknown) => error instanceof pg.DatabaseError && error.severity === 'ERROR';

/**
 * The transaction object of each pooled connection, made once: a repository that prepares a statement
 * per executor (PatientsRepository's `find` and `insert`) then builds it once per connection, not once
 * per transaction. It holds nothing of one transaction: only its connection and drizzle's dialect.
 */
const connectionTransactions = new WeakMap<pg.PoolClient, Tx>();

/**
 * `Database.transaction` on a pooled PostgreSQL connection in pipeline mode: what drizzle's own
 * `transaction` does (BEGIN, the work on a transaction bound to the connection, COMMIT or ROLLBACK),
 * without waiting for BEGIN's answer before the work's first statement, nor for the closing
 * statements' answers before the COMMIT. The server runs them in order and answers each. The socket
 * is corked meanwhile, so that they leave in one write: every write wakes the server up, and on a
 * busy machine the wake-ups, not the statements, are most of what a short transaction costs.
 */
async function pipelinedTransaction<T>(
  pool: pg.Pool,
  dialect: PgDialect,
  work: (tx: Tx) => Promise<T>,
  closing: (() => SQL[]) | undefined,
  sentAhead: (() => readonly Promise<unknown>[]) | undefined,
): Promise<T> {
  const client = await pool.connect();
  const socket = socketOf(client);
  // A connection whose transaction could not be ended is closed rather than given back to the pool.
  let unusable: Error | undefined;
  // COMMIT sent: the transaction ends there (committed, or rolled back by the server), whatever follows.
  let ended = false;
  // The work returned (its statements sent): a failure after this is the database's.
  let worked = false;
  try {
    let tx = connectionTransactions.get(client);
    if (!tx) {
      tx = new NodePgTransaction(dialect, new NodePgSession(client, dialect, undefined), undefined);
      connectionTransactions.set(client, tx);
    }
    // BEGIN waits in the socket for the statements the work sends in this turn of the event loop.
    socket.cork();
    const begun = client.query('begin');
    setImmediate(() => socket.uncork());
    // If BEGIN failed, so did the connection, and every statement after it: the work's error says so.
    begun.catch(() => {});
    const value = await work(tx);
    worked = true;
    // Not waiting for BEGIN's answer: a work that sent its statements without waiting for theirs
    // (`Work.answerAtCommit`) is done within this turn, and its COMMIT leaves in the same write as its
    // BEGIN. (A BEGIN that failed fails what follows it, COMMIT included.)
    const queries = (closing?.() ?? []).map((statement) => ({
      ...dialect.sqlToQuery(statement),
      name: statementNames.get(statement),
    }));
    // pg refuses a statement it cannot send (a parameter it cannot serialize) at once, within
    // `query`: then the transaction is rolled back rather than committed without it.
    let refused: { error: Error } | undefined;
    let closed: Promise<unknown>[];
    let ending: Promise<pg.QueryResult>;
    socket.cork();
    try {
      closed = queries.map(
        (query) =>
          new Promise((resolve, reject) => {
            client.query({ name: query.name, text: query.sql, values: query.params }, (error, result) => {
              if (!error) return resolve(result);
              if (!ended) refused ??= { error };
              reject(error);
            });
          }),
      );
      ending = client.query(refused ? 'rollback' : 'commit');
      ended = true;
    } finally {
      socket.uncork();
    }
    const [start, end, ...answers] = await Promise.allSettled([begun, ending, ...closed]);
    if (start.status === 'rejected') {
      unusable = start.reason as Error;
      throw start.reason;
    }
    if (end.status === 'rejected') {
      // An ERROR (a deferred constraint) ends the transaction and leaves the connection fine. Anything
      // else (a FATAL as the server drops it, a lost socket): whether it committed is unknown, and the
      // connection is not trusted with another transaction.
      if (!isPlainError(end.reason)) unusable = end.reason as Error;
      throw end.reason;
    }
    if (refused) throw refused.error;
    // PostgreSQL answers the COMMIT of a transaction in which a statement failed with ROLLBACK.
    const failed = answers.find((answer) => answer.status === 'rejected');
    if (failed) throw failed.reason;
    if (end.value.command !== 'COMMIT') {
      throw new Error('the transaction was rolled back: one of its statements had failed');
    }
    return value;
  } catch (error) {
    const cause = await causeOf(error, worked, sentAhead);
    if (!ended) {
      await client.query('rollback').catch((failed: unknown) => {
        unusable = failed as Error;
      });
    }
    // A statement this connection prepared no longer fits the table (a migration changed a column's
    // type) or is gone: a fresh connection prepares it again.
    if (STALE_STATEMENT.has(databaseError(cause).code ?? '')) unusable ??= cause as Error;
    throw cause;
  } finally {
    client.release(unusable);
  }
}
