import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, readLanesFor } from '../src/platform/db/database.js';
import { ReadLanes } from '../src/platform/db/read-lanes.js';
import { databaseError } from '../src/platform/http/errors.js';
import { createScratchDatabase } from './helpers/test-app.js';

// The read lanes: a few pipelined connections that the hot, short reads share (PostgreSQL only).

type Scratch = Awaited<ReturnType<typeof createScratchDatabase>>;
let scratch: Scratch;
let admin: pg.Client;
const opened: ReadLanes[] = [];

const lanesOf = (count: number) => {
  const lanes = new ReadLanes(scratch.url, count);
  opened.push(lanes);
  return lanes;
};
/** The clients of the lanes opened so far, in lane order. */
const clientsOf = (lanes: ReadLanes) =>
  (lanes as unknown as { lanes: ({ client: pg.Client } | undefined)[] }).lanes.map((lane) => lane?.client);
const pidOf = async (lanes: ReadLanes) =>
  ((await lanes.query({ text: 'select pg_backend_pid() as pid' })).rows[0] as { pid: number }).pid;

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

  it('sends a query to the lane with the fewest unanswered: one slow query holds up no other', async () => {
    const lanes = lanesOf(2);
    let slowDone = false;
    const slow = lanes.query({ text: 'select pg_sleep(2)' }).then(() => (slowDone = true));
    // Lane one is busy with the slow query: these open lane two and are answered there meanwhile.
    for (const n of [1, 2, 3])
      expect(((await lanes.query({ text: `select ${n} as n` })).rows[0] as { n: number }).n).toBe(n);
    expect(slowDone).toBe(false);
    expect(lanes.open).toBe(2);
    await slow;
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

  it('closes a lane whose prepared statement a migration made stale, and runs the read on a new one', async () => {
    const lanes = lanesOf(1);
    const read = () => lanes.query({ name: 'lane_probe_all', text: 'select v from lane_probe where id = 5' });
    expect((await read()).rows).toEqual([{ v: 50 }]);
    const pid = await pidOf(lanes);
    await admin.query('alter table lane_probe alter column v type bigint');
    // pg gives bigint as a string: the new statement's row.
    expect((await read()).rows).toEqual([{ v: '50' }]);
    expect(await pidOf(lanes)).not.toBe(pid);
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
