import pg from 'pg';
import { databaseError } from '../http/errors.js';

/**
 * SQLSTATEs of a named statement a connection prepared that it can no longer run: `0A000` "cached plan
 * must not change result type" (a column's type changed), `26000` no such prepared statement.
 */
export const STALE_STATEMENT = new Set(['0A000', '26000']);

/** What drizzle's node-postgres session calls on its client. */
type QueryConfig = pg.QueryConfig & { rowMode?: 'array'; types?: unknown };

interface Lane {
  client: pg.Client;
  /** Queries asked of it and not yet answered. */
  inFlight: number;
  /** Set once the server is ready for queries; until then pg queues them itself. */
  ready: boolean;
  /** Its socket is corked until the end of this turn of the event loop. */
  corked: boolean;
  /** The connection failed or closed: replaced on the next query. */
  broken: boolean;
}

/**
 * A failure of the connection rather than of the query: the socket's (no answer from the server), or
 * the server ending the session (SQLSTATE class 08, connection exception, or 57P, an administrator or
 * a crash shutting it down). A read can be asked again on another connection.
 */
const isConnectionError = (error: unknown) =>
  !(error instanceof pg.DatabaseError) || /^(08|57P)/.test(error.code ?? '');

/**
 * A few PostgreSQL connections that the hot, short reads share, in node-postgres's pipeline mode: each
 * query is sent as it is asked, without waiting for the ones before it on that connection, and the
 * queries asked in one turn of the event loop leave in one socket write. Each connection is corked
 * for the turn in which it is first asked something (pg corks each query itself; corks nest).
 *
 * Why: every write to a PostgreSQL socket costs both sides a wakeup, and a pool connection carries
 * one query per round trip. On a 2-core VM a pool of 20 answered about 6,000 primary-key reads a
 * second at 100-180 µs of client and server CPU each; two pipelined connections answered 24,000 at
 * about 33 µs each. postgres.js pipelines the same way by default.
 *
 * The cost is head-of-line blocking: a query waits for those sent before it on its lane. So only
 * statements that are short by construction belong here (a row by key, a bounded search); each query
 * goes to the lane with the fewest unanswered ones. Every connection keeps one generic plan per
 * prepared statement (`plan_cache_mode = force_generic_plan`, set as it opens): the statements sent
 * here are prepared so that planning them is paid once.
 *
 * A lane whose connection fails or closes is replaced on the next query. A read that failed because
 * its connection did, or because the statement its lane had prepared went stale with a migration
 * (`STALE_STATEMENT`; that lane is then closed), is asked once more on another connection.
 *
 * Reads only, outside transactions: each query is its own implicit transaction (pg sends a Sync
 * after each), so a failing one does not affect the others.
 */
export class ReadLanes {
  private readonly lanes: (Lane | undefined)[];
  private closed = false;

  constructor(
    private readonly url: string,
    count: number,
  ) {
    this.lanes = new Array<Lane | undefined>(count).fill(undefined);
  }

  async query(config: QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.send(config, values);
    } catch (error) {
      if (!isConnectionError(error) && !STALE_STATEMENT.has(databaseError(error).code ?? '')) throw error;
      if (this.closed) throw error;
      return this.send(config, values);
    }
  }

  /** How many lanes have a connection open or opening, for tests and metrics. */
  get open(): number {
    return this.lanes.filter((lane) => lane && !lane.broken).length;
  }

  async end(): Promise<void> {
    this.closed = true;
    // A broken lane's connection was closed when it broke.
    const live = this.lanes.filter((lane): lane is Lane => lane !== undefined && !lane.broken);
    await Promise.all(live.map((lane) => lane.client.end().catch(() => {})));
  }

  private async send(config: QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    if (this.closed) throw new Error('the database is closed');
    const lane = this.pick();
    lane.inFlight++;
    if (lane.ready && !lane.corked) {
      const socket = (lane.client as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection
        .stream;
      lane.corked = true;
      socket.cork();
      setImmediate(() => {
        lane.corked = false;
        socket.uncork();
      });
    }
    try {
      return await lane.client.query(config, values);
    } catch (error) {
      // The lane's client may not have said yet that its connection ended: it is not asked again.
      if (isConnectionError(error) || STALE_STATEMENT.has(databaseError(error).code ?? '')) this.discard(lane);
      throw error;
    } finally {
      lane.inFlight--;
    }
  }

  /** The lane with the fewest unanswered queries; a missing or broken one is opened first. */
  private pick(): Lane {
    let best: Lane | undefined;
    for (let i = 0; i < this.lanes.length; i++) {
      let lane = this.lanes[i];
      if (!lane || lane.broken) {
        lane = this.openLane();
        this.lanes[i] = lane;
      }
      if (!best || lane.inFlight < best.inFlight) best = lane;
      if (best.inFlight === 0) break;
    }
    return best!;
  }

  private openLane(): Lane {
    const client = new pg.Client({ connectionString: this.url, pipeline: true });
    const lane: Lane = { client, inFlight: 0, ready: false, corked: false, broken: false };
    // Its queries fail with the error; the lane is replaced on the next query.
    client.on('error', () => this.discard(lane));
    client.on('end', () => {
      lane.broken = true;
    });
    client
      .connect()
      .then(() => {
        lane.ready = true;
      })
      .catch(() => this.discard(lane));
    // Queued before any other query, so every statement here is planned with it. Should it fail,
    // PostgreSQL chooses its plans, as elsewhere.
    client.query('set plan_cache_mode = force_generic_plan').catch(() => {});
    return lane;
  }

  private discard(lane: Lane): void {
    if (lane.broken) return;
    lane.broken = true;
    lane.client.end().catch(() => {});
  }
}
