import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import type { Database, Executor } from '../db/database.js';

/** What pg-boss runs its SQL on (its `db` option): positional parameters, rows back. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The executor for pg-boss's own work (polling, completing, maintenance), with a count of what is in flight. */
export interface TrackedExecutor extends SqlExecutor {
  /** Resolves once no statement is running, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/**
 * pg-boss on the app's own connections. PostgreSQL: the app's pool. PGlite: its one connection, through
 * PGlite's top-level query and exec, which wait for any open transaction to end (PGlite serializes them),
 * so a poll never runs inside a request's transaction. pg-boss sends a few scripts (create, migrate,
 * maintenance: `BEGIN; ...; COMMIT;`) without parameters; PGlite runs those with exec.
 */
export function databaseExecutor(database: Database): TrackedExecutor {
  let inFlight = 0;
  const run =
    database.kind === 'postgres'
      ? (() => {
          const pool = (database.db as unknown as { $client: pg.Pool }).$client;
          return (text: string, values?: unknown[]) => pool.query(text, values);
        })()
      : (() => {
          const client = (database.db as unknown as { $client: PGlite }).$client;
          return async (text: string, values?: unknown[]) => {
            if (values && values.length > 0) return client.query(text, values);
            const results = await client.exec(text);
            return results.at(-1) ?? { rows: [] };
          };
        })();
  return {
    async executeSql(text, values) {
      inFlight++;
      try {
        return await run(text, values);
      } finally {
        inFlight--;
      }
    },
    async idle(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    },
  };
}

/**
 * pg-boss on an open transaction (a unit of work's): its statement runs on the transaction's own client
 * (PGlite's transaction, or the pool client holding the PostgreSQL transaction), so it commits or rolls
 * back with it. The client is drizzle's (`tx.session.client`): pg-boss's SQL reuses a parameter with
 * several types ($5 as text and as a timestamp), which only the driver's positional parameters allow.
 */
export function transactionExecutor(tx: Executor): SqlExecutor {
  const client = (tx as unknown as { session?: { client?: { query?: unknown } } }).session?.client;
  if (!client || typeof client.query !== 'function')
    throw new Error('the transaction exposes no driver client (drizzle internals changed?)');
  const query = client.query as (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;
  return {
    async executeSql(text, values) {
      const result = await query.call(client, text, values);
      return { rows: result.rows };
    },
  };
}
