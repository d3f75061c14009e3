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
 * PGlite that runs each statement text as a named prepared statement, parsed once.
 *
 * PGlite's own `query()` sends every statement as an unnamed one: parsed, analyzed and planned on every
 * call. For a patient search that planning was most of the time (about 1.5 ms of 2.5). A named
 * statement is parsed once, and after five executions PostgreSQL keeps its generic plan unless plans
 * for the values at hand are clearly cheaper (`plan_cache_mode = auto`, as on the PostgreSQL server).
 * Each execution then sends Bind, Execute and Sync: the row description is the statement's, kept from
 * when it was prepared, where PGlite's own path describes the statement and then the portal each time.
 *
 * Top-level queries and a transaction's (`transaction()`, drizzle's) alike. A statement that no
 * longer fits the schema (a column's type changed under it: `0A000`) is dropped: at the top level it
 * is prepared again and run once more; in a transaction the error ends the transaction, and the unit
 * of work runs the write again (as on PostgreSQL). Values are serialized and rows parsed by PGlite's
 * own serializers and parsers (`parseResults`). Calls with a blob or parameter types of their own
 * take PGlite's path.
 */
export class PreparingPGlite extends PGlite {
  /** Statement text -> prepared statement, least recently used first. */
  private readonly prepared = new Map<string, Prepared>();
  /** Statements dropped (stale, or to make room) in a transaction: closed after the next top-level query. */
  private readonly closing: string[] = [];
  private counter = 0;
  /** A caller's parsers -> PGlite's with them over (`parsersWith`). */
  private readonly merged = new WeakMap<ParserOptions, { base: Parsers; parsers: Parsers }>();

  static async open(options: PGliteOptions): Promise<PreparingPGlite> {
    const client = new PreparingPGlite(options);
    await client.waitReady;
    return client;
  }

  override async query<T>(text: string, params: unknown[] = [], options?: QueryOptions): Promise<Results<T>> {
    if (options?.blob || options?.paramTypes) return super.query<T>(text, params, options);
    await this._checkReady();
    return this._runExclusiveTransaction(() => this.run<T>(text, params, options, true));
  }

  override transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    return super.transaction((tx) => {
      // PGlite's transaction object, with its query() on named statements.
      const named = Object.create(tx) as Transaction;
      named.query = async <R>(text: string, params: unknown[] = [], options?: QueryOptions) => {
        if (tx.closed) throw new Error('Transaction is closed');
        if (options?.blob || options?.paramTypes) return tx.query<R>(text, params, options);
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
        if (!STALE_STATEMENT.has((error as { code?: string }).code ?? '')) throw error;
        this.drop(text);
        if (!topLevel) throw error;
        return await this.execute<T>(text, params, options, topLevel);
      } finally {
        if (topLevel) await this.closeDropped();
      }
    });
  }

  private async execute<T>(
    text: string,
    params: unknown[],
    options: QueryOptions | undefined,
    topLevel: boolean,
  ): Promise<Results<T>> {
    const statement = await this.statement(text, topLevel);
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = statement.paramTypes[i]!;
      const serializer = options?.serializers?.[type] ?? this.serializers[type];
      // Text and the types PGlite has no serializer for: as PGlite's own query() sends them.
      return serializer ? serializer(value) : `${value as string}`;
    });
    const messages: BackendMessage[] = [...statement.description];
    try {
      messages.push(...(await this.send(protocol.serialize.bind({ statement: statement.name, values }))));
      messages.push(...(await this.send(protocol.serialize.execute({}))));
    } finally {
      messages.push(...(await this.send(protocol.serialize.sync())));
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

  /** The prepared statement for `text`, parsed now if it is not (dropping the least recently used to make room). */
  private async statement(text: string, topLevel: boolean): Promise<Prepared> {
    const known = this.prepared.get(text);
    if (known) {
      this.prepared.delete(text);
      this.prepared.set(text, known);
      return known;
    }
    if (this.prepared.size >= PREPARED_STATEMENTS_MAX) {
      this.drop(this.prepared.keys().next().value!);
      if (topLevel) await this.closeDropped();
    }
    const name = `wardline_${++this.counter}`;
    let described: BackendMessage[];
    try {
      await this.send(protocol.serialize.parse({ name, text }));
      described = await this.send(protocol.serialize.describe({ type: 'S', name }));
    } finally {
      await this.send(protocol.serialize.sync());
    }
    const statement: Prepared = {
      name,
      paramTypes: parse.parseDescribeStatementResults(described),
      description: described.filter((m) => m.name === 'rowDescription' || m.name === 'noData'),
    };
    this.prepared.set(text, statement);
    return statement;
  }

  /** Forgets the statement prepared for `text`; it is closed at the top level (now, or after the next query there). */
  private drop(text: string): void {
    const statement = this.prepared.get(text);
    if (!statement) return;
    this.prepared.delete(text);
    this.closing.push(statement.name);
  }

  /** Closes the statements dropped and not closed yet (at the top level only: a transaction may be failed). */
  private async closeDropped(): Promise<void> {
    while (this.closing.length > 0) {
      const name = this.closing.shift()!;
      try {
        await this.send(protocol.serialize.close({ type: 'S', name }));
      } finally {
        await this.send(protocol.serialize.sync());
      }
    }
  }

  private send(message: Uint8Array): Promise<BackendMessage[]> {
    return this.execProtocolStream(message, { syncToFs: false });
  }
}
