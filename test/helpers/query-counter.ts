import { type Database, readLanesFor } from '../../src/platform/db/database.js';

/**
 * Counts the statements a database client is sent (node-postgres pool or PGlite), for tests that
 * prove a path makes no database round trip. `count` starts at zero; `texts` keeps the SQL (no
 * parameters) of what was counted, to say which query appeared when one did.
 */
export function countQueries(database: Database) {
  // The database's clients: the pool, and its read lanes (the same client on PGlite).
  const clients = [
    ...new Set(
      [database.db, readLanesFor(database.db)].map(
        (db) => (db as unknown as { $client: Record<string, unknown> }).$client,
      ),
    ),
  ];
  const texts: string[] = [];
  const originals: [Record<string, unknown>, string, unknown][] = [];
  // pg's Pool.query checks a client out with connect() in the same call: that is one round trip, not two.
  let inside = false;
  const wrap = (client: Record<string, unknown>, name: string) => {
    const original = client[name];
    if (typeof original !== 'function') return;
    originals.push([client, name, original]);
    client[name] = function (this: unknown, ...args: unknown[]) {
      if (inside) return (original as (...a: unknown[]) => unknown).apply(this, args);
      const first = args[0] as string | { text?: string } | undefined;
      texts.push(typeof first === 'string' ? first : (first?.text ?? `(${name})`));
      inside = true;
      try {
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        inside = false;
      }
    };
  };
  // pg.Pool: plain queries through query(), transactions through connect(); PGlite: query, exec, transaction.
  for (const client of clients) for (const name of ['query', 'connect', 'exec', 'transaction']) wrap(client, name);
  return {
    get count() {
      return texts.length;
    },
    texts,
    reset() {
      texts.length = 0;
    },
    restore() {
      for (const [client, name, original] of originals) client[name] = original;
    },
  };
}

/** The group commits of audit events: reads' inserts and writes' linking (shared by concurrent requests, not one request's own). */
export const AUDIT_INSERT = /audit_append|audit_link/;

/**
 * The background pollers, which run whatever the requests do: the job queue (pg-boss), the outbox
 * claiming due messages (it polls once a topic has a handler, as lab.result.critical has), and the
 * escalation engine looking for due alert timers.
 */
const BACKGROUND = /pgboss|singleton_key|"outbox_messages"|"next_escalation_at" is not null/i;

/** The queries a request made itself: neither the audit group commit nor a background poller. */
export const ownQueries = (texts: string[]) =>
  texts.filter((text) => !AUDIT_INSERT.test(text) && !BACKGROUND.test(text));
