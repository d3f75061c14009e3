import {
  type messages,
  PGlite,
  type ParserOptions,
  type PGliteOptions,
  type QueryOptions,
  type Results,
  type Transaction,
  parse,
  protocol,
} from '@electric-sql/pglite';
import { STALE_STATEMENT } from './read-lanes.js';

type BackendMessage = messages.BackendMessage;
type Parsers = PGlite['parsers'];

/** Statements kept prepared at once; the least recently used is closed to make room. */
export const PREPARED_STATEMENTS_MAX = 200;

/** A statement PostgreSQL has parsed once under `name`, with what its Describe answered. */
interface Prepared {
  name: string;
  /** The parameters' types, to serialize the values as PGlite's own query() does. */
  paramTypes: number[];
  /** The RowDescription (or NoData) message: the columns each execution's rows are parsed by. */
  description: BackendMessage[];
}

/**
 * What is prepared: a statement that PostgreSQL plans (a query, possibly in parentheses or after WITH). Any other
 * (FETCH, EXECUTE, COPY, SET, DDL, VACUUM, EXPLAIN, transaction control) takes PGlite's own path: PostgreSQL
 * does not check those again when what they answer changes shape (a cursor declared anew), so a row description
 * kept from an earlier run could misread their rows, and planning them once gains nothing.
 */
const PLANNED = /^\s*\(*\s*(?:select|insert|update|delete|merge|values|table|with)\b/i;

/**
 * PGlite that runs each query text as a named prepared statement, parsed once. Opened with `open()`
 * (PGlite's inherited `create()` and `clone()` make a plain PGlite).
 *
 * PGlite's own `query()` sends every statement as an unnamed one: parsed, analyzed and planned on every
 * call. For a patient search that planning was most of the time (about 1.5 ms of 2.5). A named
 * statement is parsed once, and after five executions PostgreSQL keeps its generic plan unless plans
 * for the values at hand are clearly cheaper (`plan_cache_mode = auto`, as on the PostgreSQL server).
 * A generic plan is made again when its tables are analyzed (maintenance.ts checks every minute, as
 * autovacuum does). Each execution then sends Bind, Execute and Sync: the row description is the
 * statement's, kept from when it was prepared, where PGlite's own path describes the statement and then
 * the portal each time.
 *
 * Top-level queries and a transaction's (`transaction()`, drizzle's) alike. A statement prepared earlier
 * whose Bind finds it no longer fits the schema (a column's type changed under it: `0A000`, or a
 * parameter's: class 42) is closed: outside a transaction block it is prepared again and run once more;
 * in a transaction the error ends the transaction (the unit of work runs the write again after `0A000`,
 * as on PostgreSQL; after a class-42 error the next write prepares it anew). Any other error is the
 * statement's own, answered once, as PGlite's own path answers it. Values are serialized and
 * rows parsed by PGlite's own serializers and parsers (`parseResults`). Calls with a blob or parameter
 * types of their own take PGlite's path.
 */
export class PreparingPGlite extends PGlite {
  /** Statement text -> prepared statement, least recently used first. */
  private readonly prepared = new Map<string, Prepared>();
  private counter = 0;
  /** A caller's parsers -> PGlite's with them over (`parsersWith`). */
  private readonly merged = new WeakMap<ParserOptions, { base: Parsers; parsers: Parsers }>();

  static async open(options: PGliteOptions): Promise<PreparingPGlite> {
    const client = new PreparingPGlite(options);
    await client.waitReady;
    return client;
  }

  override async query<T>(text: string, params: unknown[] = [], options?: QueryOptions): Promise<Results<T>> {
    if (!prepares(text, options)) return super.query<T>(text, params, options);
    await this._checkReady();
    return this._runExclusiveTransaction(() => this.run<T>(text, params, options, true));
  }

  override transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    return super.transaction((tx) => {
      // PGlite's transaction object, with its query() on named statements.
      const named = Object.create(tx) as Transaction;
      named.query = async <R>(text: string, params: unknown[] = [], options?: QueryOptions) => {
        if (tx.closed) throw new Error('Transaction is closed');
        if (!prepares(text, options)) return tx.query<R>(text, params, options);
        return this.run<R>(text, params, options, false);
      };
      return callback(named);
    });
  }

  /** How many statements are prepared now (tests). */
  preparedCount(): number {
    return this.prepared.size;
  }

  private run<T>(text: string, params: unknown[], options: QueryOptions | undefined, topLevel: boolean) {
    return this._runExclusiveQuery(async () => {
      try {
        return await this.execute<T>(text, params, options, topLevel);
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        // Only a statement prepared earlier that its Bind refused, as stale or gone; any other error is the
        // statement's own, and is answered as PGlite's path would answer it.
        if (!staleAtBind.has(error as object) || (!STALE_STATEMENT.has(code) && !code.startsWith('42'))) throw error;
        // Stale, or gone (26000: someone ran DEALLOCATE ALL or DISCARD ALL, so all of them): prepared again.
        for (const stale of code === '26000' ? [...this.prepared.keys()] : [text]) await this.forget(stale);
        // Nothing ran (Bind failed), and outside a transaction block nothing is left failed: run it once more.
        if (!topLevel || this.isInTransaction()) throw error;
        return await this.execute<T>(text, params, options, topLevel);
      }
    });
  }

  private async execute<T>(
    text: string,
    params: unknown[],
    options: QueryOptions | undefined,
    topLevel: boolean,
  ): Promise<Results<T>> {
    const cached = this.prepared.has(text);
    const statement = await this.statement(text, options);
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = statement.paramTypes[i]!;
      const serializer = options?.serializers?.[type] ?? this.serializers[type];
      // Text and the types PGlite has no serializer for: as PGlite's own query() sends them.
      return serializer ? serializer(value) : `${value as string}`;
    });
    const messages: BackendMessage[] = [...statement.description];
    try {
      const bind = protocol.serialize.bind({ statement: statement.name, values });
      messages.push(
        ...(await this.send(bind, options).catch((error: unknown) => {
          if (cached && error instanceof Object) staleAtBind.add(error);
          throw error;
        })),
      );
      messages.push(...(await this.send(protocol.serialize.execute({}), options)));
    } finally {
      messages.push(...(await this.send(protocol.serialize.sync(), options)));
    }
    // As PGlite's own query(): files are synced after a top-level statement, and at COMMIT in a transaction.
    if (topLevel) await this.syncToFs();
    if (!options?.parsers) return parse.parseResults(messages, this.parsers, options)[0] as Results<T>;
    return parse.parseResults(messages, this.parsersWith(options.parsers), {
      ...options,
      parsers: undefined,
    })[0] as Results<T>;
  }

  /**
   * PGlite's parsers with a caller's own over them (drizzle passes some with every query), made once per
   * object of the caller's. Given parsers, `parseResults` would copy PGlite's 300-odd into a new object
   * on every call: a tenth of a registration's CPU.
   */
  private parsersWith(own: ParserOptions): Parsers {
    const known = this.merged.get(own);
    if (known && known.base === this.parsers) return known.parsers;
    const parsers = Object.assign(Object.create(this.parsers) as Parsers, own);
    this.merged.set(own, { base: this.parsers, parsers });
    return parsers;
  }

  /** The prepared statement for `text`, parsed now if it is not (closing the least recently used to make room). */
  private async statement(text: string, options: QueryOptions | undefined): Promise<Prepared> {
    const known = this.prepared.get(text);
    if (known) {
      this.prepared.delete(text);
      this.prepared.set(text, known);
      return known;
    }
    if (this.prepared.size >= PREPARED_STATEMENTS_MAX) await this.forget(this.prepared.keys().next().value!);
    const name = `wardline_${++this.counter}`;
    let described: BackendMessage[];
    try {
      await this.send(protocol.serialize.parse({ name, text }), options);
      described = await this.send(protocol.serialize.describe({ type: 'S', name }), options);
    } finally {
      await this.send(protocol.serialize.sync(), options);
    }
    const statement: Prepared = {
      name,
      paramTypes: parse.parseDescribeStatementResults(described),
      description: described.filter((m) => m.name === 'rowDescription' || m.name === 'noData'),
    };
    this.prepared.set(text, statement);
    return statement;
  }

  /** Closes the statement prepared for `text`, if there is one (PostgreSQL takes a Close in a failed transaction too). */
  private async forget(text: string): Promise<void> {
    const statement = this.prepared.get(text);
    if (!statement) return;
    this.prepared.delete(text);
    try {
      await this.send(protocol.serialize.close({ type: 'S', name: statement.name }));
    } finally {
      await this.send(protocol.serialize.sync());
    }
  }

  private send(message: Uint8Array, options?: QueryOptions): Promise<BackendMessage[]> {
    return this.execProtocolStream(message, { syncToFs: false, onNotice: options?.onNotice });
  }
}

/** Errors a statement prepared earlier met at its Bind: the ones that may mean it is stale. */
const staleAtBind = new WeakSet<object>();

/** Whether a call runs as a named statement: a planned statement, without a blob or parameter types of its own. */
const prepares = (text: string, options: QueryOptions | undefined) =>
  PLANNED.test(text) && !options?.blob && !options?.paramTypes;
