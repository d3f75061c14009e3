import { PGlite, types } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseError } from '../src/platform/http/errors.js';
import { PREPARED_STATEMENTS_MAX, PreparingPGlite } from '../src/platform/db/pglite-statements.js';

// PGlite with named statements (pglite-statements.ts): the same answers as PGlite's own query(), each
// text parsed once, and a statement that no longer fits the schema prepared again.

let pg: PreparingPGlite;

/** The statements this session holds prepared, as PostgreSQL itself lists them. */
const preparedInSession = async () =>
  (await pg.query<{ count: number }>('select count(*)::int as count from pg_prepared_statements')).rows[0]!.count;

/** Whether the session holds `text` as a prepared statement. */
const isPrepared = async (text: string) =>
  (await pg.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements where statement = $1', [text]))
    .rows[0]!.n > 0;

beforeAll(async () => {
  pg = await PreparingPGlite.open({ dataDir: 'memory://' });
  await pg.exec(`create table probe (id int primary key, note text, at timestamptz, doc jsonb, tags text[])`);
});
afterAll(async () => pg?.close());

describe('PreparingPGlite', () => {
  it('answers as PGlite does: parameters serialized by type, rows parsed by type, nulls kept', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const insert =
      'insert into probe (id, note, at, doc, tags) values ($1, $2, $3, $4, $5) returning id, at, doc, tags';
    const inserted = await pg.query(insert, [1, 'one', at, { a: [1, 'x'] }, ['p', 'q']]);
    expect(inserted.rows).toEqual([{ id: 1, at, doc: { a: [1, 'x'] }, tags: ['p', 'q'] }]);
    expect(inserted.affectedRows).toBe(1);
    await pg.query(insert, [2, null, null, null, null]);
    const select = 'select id, note, at, doc, tags from probe where id = any($1) order by id';
    const mine = await pg.query(select, [[1, 2]]);
    const pglites = await PGlite.prototype.query.call(pg, select, [[1, 2]]);
    expect(mine.rows).toEqual(pglites.rows);
    expect(mine.rows[1]).toEqual({ id: 2, note: null, at: null, doc: null, tags: null });
    expect(mine.fields.map((f) => f.name)).toEqual(['id', 'note', 'at', 'doc', 'tags']);
    // A caller's own parsers over PGlite's, as drizzle passes them (timestamps as text), the others PGlite's.
    const asText = { parsers: { [types.TIMESTAMPTZ]: (value: string) => value } };
    for (let i = 0; i < 2; i++)
      expect((await pg.query(select, [[1]], asText)).rows).toEqual([
        { id: 1, note: 'one', at: '2026-01-02 03:04:05.678+00', doc: { a: [1, 'x'] }, tags: ['p', 'q'] },
      ]);
    expect((await pg.query(select, [[1]])).rows[0]).toMatchObject({ at });
    // Array mode, as drizzle asks for its selects.
    expect((await pg.query(select, [[1]], { rowMode: 'array' })).rows).toEqual([
      [1, 'one', at, { a: [1, 'x'] }, ['p', 'q']],
    ]);
  });

  it('parses a text once, however often it runs, at the top level and in transactions', async () => {
    const text = 'select count(*)::int as n from probe where id > $1';
    await pg.query(text, [0]);
    const before = await preparedInSession();
    for (let i = 0; i < 10; i++) await pg.query(text, [i]);
    const inTransaction = 'select max(id) as top from probe where id < $1';
    await pg.transaction(async (tx) => {
      expect((await tx.query<{ n: number }>(text, [0])).rows[0]!.n).toBe(2);
      for (let i = 0; i < 3; i++) expect((await tx.query(inTransaction, [5])).rows).toEqual([{ top: 2 }]);
    });
    // The transaction's new text was prepared (once), and is kept after its COMMIT.
    expect(await preparedInSession()).toBe(before + 1);
    expect(pg.preparedCount()).toBe(before + 1);
    expect((await pg.query(inTransaction, [2])).rows).toEqual([{ top: 1 }]);
    expect(pg.preparedCount()).toBe(before + 1);
  });

  it('keeps at most PREPARED_STATEMENTS_MAX statements, closing the least recently used', async () => {
    for (let i = 0; i < PREPARED_STATEMENTS_MAX + 20; i++) await pg.query(`select ${i} as n`);
    expect(pg.preparedCount()).toBe(PREPARED_STATEMENTS_MAX);
    // The session holds what the cache knows of, no more: the ones dropped were closed.
    expect(await preparedInSession()).toBe(PREPARED_STATEMENTS_MAX);
    expect((await pg.query<{ n: number }>('select 3 as n')).rows).toEqual([{ n: 3 }]);
  });

  it('prepares again a statement whose table changed under it; in a transaction the error ends it', async () => {
    await pg.exec('create table shifting (id int primary key, v int)');
    await pg.query('insert into shifting values ($1, $2)', [1, 7]);
    const text = 'select * from shifting where id = $1';
    expect((await pg.query(text, [1])).rows).toEqual([{ id: 1, v: 7 }]);
    await pg.exec('alter table shifting alter column v type text');
    // Top level: the stale statement (0A000) is prepared again and the query answers.
    expect((await pg.query(text, [1])).rows).toEqual([{ id: 1, v: '7' }]);

    await pg.exec('alter table shifting alter column v type int using v::int');
    const failed = await pg
      .transaction(async (tx) => tx.query(text, [1]))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    // In a transaction: the error, which the unit of work takes as one to run the write again.
    expect(databaseError(failed).code).toBe('0A000');
    expect(await pg.transaction(async (tx) => (await tx.query(text, [1])).rows)).toEqual([{ id: 1, v: 7 }]);
  });

  it('leaves the session usable after a failed statement, at the top level and in a transaction', async () => {
    const insert = 'insert into probe (id) values ($1)';
    const duplicate = await pg.query(insert, [1]).catch((error: unknown) => error);
    expect(databaseError(duplicate).code).toBe('23505');
    await expect(pg.query('select nope from probe')).rejects.toMatchObject({ code: '42703' });
    const rolledBack = await pg
      .transaction(async (tx) => {
        await tx.query(insert, [10]);
        await tx.query(insert, [1]);
      })
      .catch((error: unknown) => error);
    expect(databaseError(rolledBack).code).toBe('23505');
    expect((await pg.query('select id from probe where id = $1', [10])).rows).toEqual([]);
    expect(pg.isInTransaction()).toBe(false);
    expect((await pg.query<{ n: number }>('select count(*)::int as n from probe')).rows).toEqual([{ n: 2 }]);
  });
  it('leaves to PGlite what PostgreSQL does not check again: a cursor declared anew, EXECUTE, DDL, SET', async () => {
    const fetched = await pg.transaction(async (tx) => {
      await tx.exec('declare cur cursor for select 1 as a, 2 as b');
      await tx.query('fetch 1 from cur');
      await tx.exec(`close cur; declare cur cursor for select 'hello'::text as greeting`);
      return (await tx.query('fetch 1 from cur')).rows;
    });
    expect(fetched).toEqual([{ greeting: 'hello' }]);
    await pg.exec('prepare mine as select 1 as a');
    await pg.query('execute mine');
    await pg.exec(`deallocate mine; prepare mine as select 'x'::text as b`);
    expect((await pg.query('execute mine')).rows).toEqual([{ b: 'x' }]);
    await pg.query('set statement_timeout = 0');
    await pg.query('create table if not exists ddl_probe (id int)');
    for (const text of ['fetch 1 from cur', 'execute mine', 'set statement_timeout = 0'])
      expect(await isPrepared(text)).toBe(false);
    // A query in parentheses, or after WITH, is prepared.
    for (const text of ['(select 1 as n) union all (select 2)', 'with t as (select 1 as n) select n from t']) {
      await pg.query(text);
      expect(await isPrepared(text)).toBe(true);
    }
  });

  it("prepares again a statement whose parameter's column changed type (class 42 at the top level)", async () => {
    await pg.exec('create table retyped (id int primary key, v int)');
    await pg.query('insert into retyped values (1, 5)');
    const text = 'select id from retyped where v = $1';
    for (let i = 0; i < 6; i++) expect((await pg.query(text, [5])).rows).toEqual([{ id: 1 }]);
    await pg.exec('alter table retyped alter column v type text');
    expect((await pg.query(text, ['5'])).rows).toEqual([{ id: 1 }]);
  });

  it('after DEALLOCATE ALL, one failed attempt forgets every statement, and the next one runs', async () => {
    const texts = [
      'select 11 as n where $1::int > 0',
      'select 12 as n where $1::int > 0',
      'select 13 as n where $1::int > 0',
    ];
    for (const text of texts) await pg.query(text, [1]);
    await pg.exec('deallocate all');
    const attempt = () =>
      pg.transaction(async (tx) => {
        const rows = [];
        for (const text of texts) rows.push(...(await tx.query(text, [1])).rows);
        return rows;
      });
    expect(databaseError(await attempt().catch((error: unknown) => error)).code).toBe('26000');
    expect(await attempt()).toEqual([{ n: 11 }, { n: 12 }, { n: 13 }]);
    expect(await preparedInSession()).toBe(pg.preparedCount());
  });
  it("answers a statement's own error once: no retry that would take a second sequence value", async () => {
    await pg.exec(`create sequence once_seq;
      create function boom() returns int language plpgsql as $$ begin execute 'select * from no_such_table'; return 1; end $$`);
    const text = "select nextval('once_seq')::int as n, case when $1::boolean then boom() else 0 end as b";
    expect((await pg.query(text, [false])).rows).toEqual([{ n: 1, b: 0 }]);
    // Fails as it executes (42P01, class 42 like a stale statement's): once.
    await expect(pg.query(text, [true])).rejects.toMatchObject({ code: '42P01' });
    expect((await pg.query(text, [false])).rows).toEqual([{ n: 3, b: 0 }]);
  });

  it('in a block opened with BEGIN, answers a stale statement with its own error, not the aborted block', async () => {
    await pg.exec('create table blocked (id int primary key, v int); insert into blocked values (1, 5)');
    const text = 'select id from blocked where v = $1';
    expect((await pg.query(text, [5])).rows).toEqual([{ id: 1 }]);
    await pg.exec('alter table blocked alter column v type text');
    await pg.exec('begin');
    await expect(pg.query(text, ['5'])).rejects.toMatchObject({ code: '42883' });
    await pg.exec('rollback');
    expect((await pg.query(text, ['5'])).rows).toEqual([{ id: 1 }]);
  });
});
