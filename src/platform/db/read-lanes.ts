import pg from 'pg';
import { databaseError } from '../http/errors.js';

/**
 * SQLSTATEs of a named statement a connection prepared that it can no longer run: `0A000` "cached plan
 * must not change result type" (a column's type changed), `26000` no such prepared statement.
 */
export const STALE_STATEMENT = new Set(['0A000', '26000']);

/** What drizzle's node-postgres session calls on its client. */
type QueryConfig = pg.QueryConfig & { rowMode?: 'array'; types?: unknown };

/** A lane whose oldest unanswered query has waited this long is taken for dead (a half-open socket). */
export const LANE_STALL_MS = 30_000;
/** The lanes' `application_name` (unless the URL sets one): how to tell them in `pg_stat_activity`. */
export const LANE_APPLICATION_NAME = 'wardline read lane';
/** A lane whose oldest unanswered query has waited this long is held (by a slow query): passed over. */
const SLOW_MS = 100;
/** How long opening a lane's connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * What the lanes take: a statement that starts as a read does (drizzle's selects, set operations, WITH,
 * SHOW) and names no write. A guard against misuse (`readLanesFor` is for short reads), not a parser.
 */
const READ_START = /^\s*(\(|with|select|show|values|table)\b/i;
const WRITES = /\b(insert|update|delete|merge|truncate|into)\b/i;
/** How long `end` lets a lane finish what it was asked before closing it anyway. */
const END_GRACE_MS = 5_000;

interface Lane {
  client: pg.Client;
  /** Resolves once the server is ready for queries; rejects with what refused the connection. */
  connecting: Promise<void>;
  ready: boolean;
  /** Each unanswered query (when asked, in which order), oldest first: a connection answers in order. */
  unanswered: { at: number; seq: number }[];
  /** Its socket is corked until the end of this turn of the event loop. */
  corked: boolean;
  /** The connection failed, closed, or was closed here: replaced on the next query. */
  broken: boolean;
  /** Fails `connecting` if it has not settled (the lane was closed while it opened). */
  abandon: () => void;
  /** How many queries had been asked when it opened (see `asked`). */
  openedAt: number;
}

type Socket = { cork(): void; uncork(): void; destroy(): void; destroyed: boolean };
/** A client's socket (pg corks it the same way to send a query's messages in one write). */
export const socketOf = (client: pg.Client) =>
  (client as unknown as { connection: { stream: Socket } }).connection.stream;
const parsedOn = (client: pg.Client) =>
  (client as unknown as { connection: { parsedStatements: Record<string, unknown> } }).connection.parsedStatements;

/** Errors of opening a connection (a wrong password, no such database): the caller's answer, never retried. */
const connectFailures = new WeakSet<object>();
/** Errors of a named statement that its connection had prepared before (the server had parsed it). */
const preparedFailures = new WeakSet<object>();

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
 * statements that are short by construction belong here (a row by key, a bounded search), only reads
 * are accepted (SELECT, SHOW), and each query goes to an idle lane, else to the lane with the fewest
 * unanswered queries, passing over those held by a slow one (see `pick`). Every
 * connection keeps one generic plan per prepared statement (`plan_cache_mode = force_generic_plan`,
 * set as it opens): the statements sent here are prepared so that planning them is paid once.
 *
 * Each query is its own implicit transaction (pg sends a Sync after each), so a failing one does not
 * affect the others. A lane is replaced on the next query when its connection fails or closes, when
 * its oldest unanswered query has waited `LANE_STALL_MS` (a half-open socket after a failover), or
 * when one of its prepared statements went stale with a migration (then every lane open before is
 * replaced too). A read that failed because its connection ended, or on a stale statement, is asked once
 * more, on a new connection. An error of opening a connection (a wrong password, no such database)
 * is the caller's, as it is.
 */
export class ReadLanes {
  private readonly lanes: (Lane | undefined)[];
  private closed = false;
  /** Queries asked so far: orders the lanes' backlogs. */
  private asked = 0;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    count: number,
    private readonly now: () => number = Date.now,
  ) {
    this.lanes = new Array<Lane | undefined>(count).fill(undefined);
    this.watchdog = setInterval(() => this.closeStalled(), LANE_STALL_MS / 6).unref();
  }

  async query(config: QueryConfig, values?: unknown[]): Promise<pg.QueryResult> {
    if (!READ_START.test(config.text) || WRITES.test(config.text)) {
      throw new Error('the read lanes run reads only (SELECT, SHOW)');
    }
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('the database is closed');
      const lane = this.pick();
      const seq = this.asked;
      try {
        return await this.send(lane, config, values);
      } catch (error) {
        const askAgain = this.afterFailure(lane, error, seq);
        if (!askAgain || attempt === 2 || this.closed) throw error;
      }
    }
  }

  /** How many lanes have a connection open or opening, for tests and metrics. */
  get open(): number {
    return this.lanes.filter((lane) => lane && !lane.broken).length;
  }

  /** Lanes whose oldest unanswered query has waited `LANE_STALL_MS` are closed (their reads fail, then retry). */
  closeStalled(): void {
    const now = this.now();
    for (const lane of this.lanes) {
      if (lane && !lane.broken && lane.unanswered.length > 0 && now - lane.unanswered[0]!.at >= LANE_STALL_MS) {
        this.discard(lane);
      }
    }
  }

  async end(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    // A broken lane's connection was closed when it broke; one still opening is closed at once (pg
    // would leave its connect() unsettled); an open one once it has answered what it was asked.
    const live = this.lanes.filter((lane): lane is Lane => lane !== undefined && !lane.broken);
    for (const lane of live) if (!lane.ready) this.discard(lane);
    await Promise.all(live.filter((lane) => lane.ready).map((lane) => this.endLane(lane)));
  }

  /** Ends a lane once it has answered what it was asked, or after `END_GRACE_MS` (a half-open socket never does). */
  private async endLane(lane: Lane): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.discard(lane);
        resolve();
      }, END_GRACE_MS);
    });
    await Promise.race([lane.client.end().catch(() => {}), grace]);
    clearTimeout(timer);
  }

  private async send(lane: Lane, config: QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    // Counted from now, also while the connection opens, so that the next query goes elsewhere.
    const unanswered = lane.unanswered;
    const entry = { at: this.now(), seq: this.asked++ };
    unanswered.push(entry);
    try {
      return await this.sendReady(lane, config, values);
    } finally {
      // Usually the first (a connection answers in order), not always: pg fails a query it cannot
      // send at once, and queries waiting for the connection to open may go out in another order.
      unanswered.splice(unanswered.indexOf(entry), 1);
    }
  }

  private async sendReady(lane: Lane, config: QueryConfig, values: unknown[] | undefined): Promise<pg.QueryResult> {
    if (!lane.ready) await lane.connecting;
    if (lane.broken) throw new Error('Connection terminated');
    if (!lane.corked) {
      const socket = socketOf(lane.client);
      lane.corked = true;
      socket.cork();
      setImmediate(() => {
        lane.corked = false;
        socket.uncork();
      });
    }
    const preparedBefore = config.name !== undefined && parsedOn(lane.client)[config.name] !== undefined;
    try {
      return await lane.client.query(config, values);
    } catch (error) {
      if (preparedBefore && error instanceof Object) preparedFailures.add(error);
      throw error;
    }
  }

  /**
   * Closes what the failure showed unusable; whether the read should be asked again. A statement is
   * stale when PostgreSQL refuses to run one that this connection had prepared before it was sent:
   * its cached plan no longer fits the table (0A000), or it has no statement of that name (26000). A
   * 0A000 of a statement parsed with it is some other feature not supported; a 26000 of a statement
   * first sent in the same batch only repeats its Parse's own error, which the first caller got.
   */
  private afterFailure(lane: Lane, error: unknown, seq: number): boolean {
    if (!(error instanceof Object) || connectFailures.has(error)) return false;
    const { code } = databaseError(error);
    if ((code === '0A000' || code === '26000') && preparedFailures.has(error)) {
      // The lanes that were open when the read was asked prepared their statements before the
      // migration too: all are replaced. Those opened since (for reads asked again) are new.
      // This read's own lane among them (opened at the latest as it was asked).
      for (const each of this.lanes) if (each && each.openedAt <= seq) this.discard(each);
      return true;
    }
    if (this.connectionEnded(lane, error)) {
      this.discard(lane);
      return true;
    }
    return false;
  }

  /**
   * The connection is gone, not just this query: its socket closed or failed, or the server ended the
   * session (a FATAL: class 08, connection exception, or 57P, shut down by an administrator or a crash).
   */
  private connectionEnded(lane: Lane, error: unknown): boolean {
    const client = lane.client as unknown as { _queryable: boolean };
    if (lane.broken || !client._queryable || socketOf(lane.client).destroyed) return true;
    if (!(error instanceof pg.DatabaseError)) return false;
    return error.severity === 'FATAL' || error.severity === 'PANIC' || /^(08|57P)/.test(error.code ?? '');
  }

  /**
   * An idle lane if there is one; else, of the lanes whose oldest unanswered query was asked less than
   * `SLOW_MS` ago (so not held by a slow one), the one with the fewest unanswered queries, of those the
   * one whose backlog began last; only when every lane is held, the one with the fewest. A missing or
   * broken lane is opened first.
   */
  private pick(): Lane {
    const now = this.now();
    let best: Lane | undefined;
    let bestHeld = true;
    for (let i = 0; i < this.lanes.length; i++) {
      let lane = this.lanes[i];
      if (!lane || lane.broken) {
        lane = this.openLane();
        this.lanes[i] = lane;
      }
      const waiting = lane.unanswered;
      if (waiting.length === 0) return lane;
      const held = now - waiting[0]!.at >= SLOW_MS;
      const better =
        !best ||
        (bestHeld && !held) ||
        (held === bestHeld &&
          (waiting.length < best.unanswered.length ||
            (waiting.length === best.unanswered.length && waiting[0]!.seq > best.unanswered[0]!.seq)));
      if (better) {
        best = lane;
        bestHeld = held;
      }
    }
    return best!;
  }

  private openLane(): Lane {
    const client = new pg.Client({
      connectionString: this.url,
      // What pg_stat_activity shows, unless the URL names the application itself.
      application_name: LANE_APPLICATION_NAME,
      pipeline: true,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    const lane: Lane = {
      client,
      connecting: Promise.resolve(),
      ready: false,
      unanswered: [],
      corked: false,
      broken: false,
      abandon: () => {},
      openedAt: this.asked,
    };
    lane.connecting = new Promise<void>((resolve, reject) => {
      // Closed here before it opened (`discard`): what waits for it fails, as its queries would.
      lane.abandon = () => reject(new Error('Connection terminated'));
      client.connect().then(
        () => {
          lane.ready = true;
          resolve();
        },
        (error: Error) => {
          connectFailures.add(error);
          reject(error);
          // pg has ended the connection itself (the server refused it, or it could not be reached).
          lane.broken = true;
        },
      );
    });
    // Every query awaits it; this only keeps a failure from counting as unhandled.
    lane.connecting.catch(() => {});
    // Its queries fail with the error; the lane is replaced on the next query.
    client.on('error', () => this.discard(lane));
    client.on('end', () => {
      lane.broken = true;
    });
    // Queued before any other query, so every statement here is planned with it. Should it fail,
    // PostgreSQL chooses its plans, as elsewhere.
    client.query('set plan_cache_mode = force_generic_plan').catch(() => {});
    return lane;
  }

  /**
   * Closes the lane's connection at once: its unanswered queries fail (and are asked again elsewhere),
   * so a replaced lane never lingers beside its replacement.
   */
  private discard(lane: Lane): void {
    if (lane.broken) return;
    lane.broken = true;
    lane.abandon();
    // Not client.end(): pg then takes the close for one it asked for, and would leave a connect()
    // in progress unsettled. As it is, pg fails the unanswered queries and emits 'error' (handled).
    socketOf(lane.client).destroy();
  }
}
