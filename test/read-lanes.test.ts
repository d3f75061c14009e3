import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, readLanesFor } from '../src/platform/db/database.js';
import { LANE_APPLICATION_NAME, LANE_STALL_MS, ReadLanes } from '../src/platform/db/read-lanes.js';
import { databaseError } from '../src/platform/http/errors.js';
import { eventually } from './helpers/eventually.js';
import { createScratchDatabase } from './helpers/test-app.js';

// The read lanes: a few pipelined connections that the hot, short reads share (PostgreSQL only).

type Scratch = Awaited<ReturnType<typeof createScratchDatabase>>;
let scratch: Scratch;
let admin: pg.Client;
const opened: ReadLanes[] = [];

const lanesOf = (count: number, now?: () => number) => {
  const lanes = new ReadLanes(scratch.url, count, now);
  opened.push(lanes);
  return lanes;
};
/** The clients of the lanes opened so far, in lane order. */
const clientsOf = (lanes: ReadLanes) =>
  (lanes as unknown as { lanes: ({ client: pg.Client } | undefined)[] }).lanes.map((lane) => lane?.client);
const pidOf = async (lanes: ReadLanes) =>
  ((await lanes.query({ text: 'select pg_backend_pid() as pid' })).rows[0] as { pid: number }).pid;
const n = (result: pg.QueryResult) => (result.rows[0] as { n: number | string }).n;
/** The lanes' connections to the scratch database, as PostgreSQL counts them. */
const laneBackends = async () =>
  Number(
    (
      await admin.query(
        'select count(*) as c from pg_stat_activity where datname = current_database() and application_name = $1',
        [LANE_APPLICATION_NAME],
      )
    ).rows[0].c,
  );

describe.skipIf(!process.env.DATABASE_URL)('read lanes (PostgreSQL)', () => {
  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.DATABASE_URL!);
    admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    await admin.query('create table lane_probe (id int primary key, v int not null)');
    await admin.query('insert into lane_probe select n, n * 10 from generate_series(1, 50) n');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((lanes) => lanes.end()));
  });
  afterAll(async () => {
    await admin?.end();
    await scratch?.drop();
  });

  it('sends the queries asked in one turn in one socket write, and answers each its own rows', async () => {
    const lanes = lanesOf(1);
    await pidOf(lanes); // connected
    const socket = (clientsOf(lanes)[0] as unknown as { connection: { stream: Record<string, unknown> } }).connection
      .stream;
    let writes = 0;
    for (const method of ['_write', '_writev']) {
      const original = (socket[method] as (...args: unknown[]) => void).bind(socket);
      socket[method] = (...args: unknown[]) => {
        writes++;
        original(...args);
      };
    }
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    const answers = await Promise.all(
      ids.map((id) => lanes.query({ name: 'lane_probe_by_id', text: 'select v from lane_probe where id = $1' }, [id])),
    );
    expect(answers.map((answer) => (answer.rows[0] as { v: number }).v)).toEqual(ids.map((id) => id * 10));
    expect(writes).toBe(1);
  });

  it('fails only the query that failed among those sent together', async () => {
    const lanes = lanesOf(1);
    const settled = await Promise.allSettled([
      lanes.query({ text: 'select 1 as n' }),
      lanes.query({ text: 'select 1 / 0 as n' }),
      lanes.query({ text: 'select 3 as n' }),
    ]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? (s.value.rows[0] as { n: number }).n : s.status))).toEqual([
      1,
      'rejected',
      3,
    ]);
    expect(databaseError((settled[1] as PromiseRejectedResult).reason).code).toBe('22012');
    expect(((await lanes.query({ text: 'select 4 as n' })).rows[0] as { n: number }).n).toBe(4);
  });

  it('passes over a lane held by a slow query', async () => {
    let now = 1_000_000;
    const lanes = lanesOf(2, () => now);
    await Promise.all([pidOf(lanes), pidOf(lanes)]); // both lanes open
    let slowDone = false;
    const slow = lanes.query({ text: 'select pg_sleep(2)' }).then(() => (slowDone = true));
    now += 1_000; // it has been waiting a second
    const fast = await Promise.all([1, 2, 3, 4].map((k) => lanes.query({ text: `select ${k} as n` })));
    expect(fast.map(n)).toEqual([1, 2, 3, 4]);
    expect(slowDone).toBe(false);
    await slow;
  });

  it('takes only reads', async () => {
    const lanes = lanesOf(1);
    await expect(lanes.query({ text: 'insert into lane_probe values (999, 1)' })).rejects.toThrow('reads only');
    await expect(lanes.query({ text: 'delete from lane_probe' })).rejects.toThrow('reads only');
    await expect(lanes.query({ text: 'select v from lane_probe where id = 1 for update' })).rejects.toThrow(
      'reads only',
    );
    await expect(
      lanes.query({ text: 'with x as (delete from lane_probe returning 1) select * from x' }),
    ).rejects.toThrow('reads only');
    expect(n(await lanes.query({ text: 'with x as (select 7 as n) select n from x' }))).toBe(7);
    expect(n(await lanes.query({ text: '(select 8 as n) union (select 8)' }))).toBe(8);
    expect(n(await lanes.query({ text: 'select count(*)::int as n from lane_probe' }))).toBe(50);
  });

  it('answers what refused the connection (no such database), without trying again', async () => {
    const url = new URL(scratch.url);
    url.pathname = '/wardline_no_such_database';
    const lanes = new ReadLanes(url.toString(), 2);
    opened.push(lanes);
    const refused = await lanes.query({ text: 'select 1' }).catch((error: unknown) => error);
    expect(databaseError(refused).code).toBe('3D000');
  });

  it('closes a lane whose oldest query has waited too long (a half-open socket) and asks it again elsewhere', async () => {
    let now = 1_000_000;
    const lanes = lanesOf(1, () => now);
    const pid = await pidOf(lanes);
    const stuck = lanes.query({ text: 'select pg_sleep(0.3), 5 as n' });
    await new Promise((resolve) => setImmediate(resolve));
    lanes.closeStalled(); // not yet stalled
    now += LANE_STALL_MS;
    lanes.closeStalled();
    expect(n(await stuck)).toBe(5);
    expect(await pidOf(lanes)).not.toBe(pid);
  });

  it('replaces a lane whose connection died, and asks its unanswered read again', async () => {
    const lanes = lanesOf(1);
    const pid = await pidOf(lanes);
    const inFlight = lanes.query({ text: 'select pg_sleep(0.5), 7 as n' });
    await admin.query('select pg_terminate_backend($1)', [pid]);
    expect(((await inFlight).rows[0] as { n: number }).n).toBe(7);
    const next = await pidOf(lanes);
    expect(next).not.toBe(pid);
    expect(lanes.open).toBe(1);
  });

  it('replaces every lane when a migration made their prepared statements stale, and runs the reads again', async () => {
    await admin.query('create table lane_stale (id int primary key, v int not null)');
    await admin.query('insert into lane_stale values (5, 50)');
    const lanes = lanesOf(2);
    const read = () => lanes.query({ name: 'lane_stale_5', text: 'select v as n from lane_stale where id = 5' });
    // Both lanes prepare it (two at once: the second goes to the other lane).
    expect((await Promise.all([read(), read()])).map(n)).toEqual([50, 50]);
    const before = await Promise.all([pidOf(lanes), pidOf(lanes)]);
    await admin.query('alter table lane_stale alter column v type bigint');
    // pg gives bigint as a string: the new statement's rows, for every read.
    expect((await Promise.all([read(), read(), read(), read()])).map(n)).toEqual(['50', '50', '50', '50']);
    const after = await Promise.all([pidOf(lanes), pidOf(lanes)]);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    // The replaced connections are closed, not left beside their replacements.
    await eventually(async () => ((await laneBackends()) <= 2 ? true : undefined), 5_000);
  });

  it('keeps its connections when a statement fails to parse: only that statement fails', async () => {
    const lanes = lanesOf(1);
    const pid = await pidOf(lanes);
    const bad = () => lanes.query({ name: 'lane_bad', text: 'select no_such_column from lane_probe' });
    const settled = await Promise.allSettled([bad(), bad(), bad()]);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(databaseError((settled[0] as PromiseRejectedResult).reason).code).toBe('42703');
    expect(await pidOf(lanes)).toBe(pid);
  });

  it('fails the reads waiting for a connection still opening when it ends, rather than leaving them unanswered', async () => {
    const lanes = lanesOf(1);
    const waiting = lanes.query({ text: 'select 1' });
    await lanes.end();
    await expect(waiting).rejects.toThrow();
  });

  it('ends within its grace period even when a lane never answers', async () => {
    const lanes = lanesOf(1);
    await pidOf(lanes);
    let answered = false;
    const hung = lanes.query({ text: 'select pg_sleep(60)' }).then(
      () => (answered = true),
      () => 'closed',
    );
    await new Promise((resolve) => setImmediate(resolve)); // sent
    await lanes.end(); // 5 s of grace, not 60
    expect(await hung).toBe('closed');
    expect(answered).toBe(false);
  });

  it('refuses queries once ended', async () => {
    const lanes = lanesOf(2);
    await pidOf(lanes);
    await lanes.end();
    await expect(lanes.query({ text: 'select 1' })).rejects.toThrow('the database is closed');
  });

  it('serves readLanesFor on the database, which refuses transactions there and keeps its own', async () => {
    const database = await openDatabase({ url: scratch.url, poolSize: 4 });
    try {
      const lanes = readLanesFor(database.db);
      expect(lanes).not.toBe(database.db);
      const result: unknown = await lanes.execute(sql`select count(*)::int as n from lane_probe`);
      expect((result as { rows: { n: number }[] }).rows).toEqual([{ n: 50 }]);
      await expect(lanes.transaction(async () => {})).rejects.toThrow('the read lanes run no transactions');
      // A transaction's reads stay in the transaction: readLanesFor gives it back unchanged.
      await database.db.transaction(async (tx) => {
        expect(readLanesFor(tx)).toBe(tx);
      });
    } finally {
      await database.close();
    }
  });
});
