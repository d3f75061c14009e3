import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Executor, openDatabase } from '../src/platform/db/database.js';
import { systemActing } from '../src/platform/db/unit-of-work.js';
import { databaseError } from '../src/platform/http/errors.js';
import { eventually } from './helpers/eventually.js';
import { buildTestApp, createTenant, type TestApp } from './helpers/test-app.js';

// Database.transaction: on PostgreSQL a pipelined connection (BEGIN sent with the first statement,
// the closing statements with the COMMIT); on PGlite drizzle's transaction. The same answers on both.

let t: TestApp;

type Probe = { id: number; note: string };
const rows = async (executor: Executor, query = sql`select id, note from tx_probe order by id`) => {
  const result: unknown = await executor.execute(query);
  return (result as { rows: Probe[] }).rows;
};

beforeAll(async () => {
  t = await buildTestApp();
  await t.database.db.execute(sql`create table tx_probe (id int primary key, note text not null)`);
});
afterAll(async () => t?.close());

describe('Database.transaction', () => {
  it('commits the work with its closing statements, which see what the work wrote', async () => {
    const value = await t.database.transaction(
      async (tx) => {
        await tx.execute(sql`insert into tx_probe values (1, 'work')`);
        const [row] = await rows(tx);
        return row!.note;
      },
      () => [sql`insert into tx_probe select id + 1, 'closing saw ' || note from tx_probe where id = 1`],
    );
    expect(value).toBe('work');
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (1, 2) order by id`)).toEqual([
      { id: 1, note: 'work' },
      { id: 2, note: 'closing saw work' },
    ]);
  });

  it('rolls the work back when a closing statement fails, and throws that statement’s error', async () => {
    const refused = t.database.transaction(
      async (tx) => {
        await tx.execute(sql`insert into tx_probe values (10, 'kept only with its closing')`);
      },
      () => [sql`insert into tx_probe values (11, 'first')`, sql`insert into tx_probe values (10, 'duplicate')`],
    );
    expect(databaseError(await refused.catch((error: unknown) => error)).code).toBe('23505');
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (10, 11)`)).toEqual([]);
  });

  it('rolls back when the work throws, and the connections still serve the next transactions', async () => {
    await expect(
      t.database.transaction(async (tx) => {
        await tx.execute(sql`insert into tx_probe values (20, 'never committed')`);
        throw new Error('the work gave up');
      }),
    ).rejects.toThrow('the work gave up');
    // More transactions at once than the pool has connections: each commits its own row only.
    await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        t.database.transaction(
          async (tx) => {
            await tx.execute(sql`insert into tx_probe values (${100 + k}, ${`tx ${k}`})`);
          },
          () => [sql`update tx_probe set note = note || ' closed' where id = ${100 + k}`],
        ),
      ),
    );
    const committed = await rows(t.database.db, sql`select id, note from tx_probe where id >= 20 order by id`);
    expect(committed).toEqual(Array.from({ length: 12 }, (_, k) => ({ id: 100 + k, note: `tx ${k} closed` })));
  });

  it('reports a COMMIT answered with ROLLBACK (a failed statement the work went past) as an error', async () => {
    const swallowed = t.database.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (30, 'lost with the failure')`);
      await tx.execute(sql`select 1 / 0`).catch(() => {});
    });
    // PGlite says so in its own words.
    await expect(swallowed).rejects.toThrow(
      t.database.kind === 'postgres' ? 'the transaction was rolled back' : 'Transaction was rolled back',
    );
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id = 30`)).toEqual([]);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('Database.transaction on PostgreSQL (pipelined)', () => {
  it('sends BEGIN with the first statement, and the closing statements with the COMMIT: two socket writes', async () => {
    const database = await openDatabase({ url: t.config.DATABASE_URL!, poolSize: 1 });
    try {
      const pool = (database.db as unknown as { $client: pg.Pool }).$client;
      const client = await pool.connect();
      // What leaves the socket: one call of _write or _writev per write to the kernel.
      const socket = (client as unknown as { connection: { stream: Record<string, (...args: never[]) => void> } })
        .connection.stream;
      client.release();
      let writes = 0;
      for (const method of ['_write', '_writev']) {
        const original = socket[method]!.bind(socket);
        socket[method] = (...args: never[]) => {
          writes++;
          original(...args);
        };
      }
      await database.transaction(
        async (tx) => {
          await tx.execute(sql`insert into tx_probe values (50, 'one statement')`);
        },
        () => [
          sql`update tx_probe set note = note || ' +1' where id = 50`,
          sql`update tx_probe set note = note || ' +2' where id = 50`,
        ],
      );
      expect(writes).toBe(2);
      expect(await rows(t.database.db, sql`select id, note from tx_probe where id = 50`)).toEqual([
        { id: 50, note: 'one statement +1 +2' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('rolls back when pg cannot send a closing statement (a parameter it cannot serialize)', async () => {
    const unserializable = {
      toPostgres: () => {
        throw new Error('cannot serialize this');
      },
    };
    const refused = t.database.transaction(
      async (tx) => {
        await tx.execute(sql`insert into tx_probe values (60, 'not without its closing statement')`);
      },
      () => [sql`insert into tx_probe values (61, ${unserializable})`],
    );
    await expect(refused).rejects.toThrow('cannot serialize this');
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (60, 61)`)).toEqual([]);
  });

  it('fails the write, not the process, when the server drops its connection midway; the pool carries on', async () => {
    const dropped = t.database.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values (70, 'lost with the connection')`);
      const pid = (await rows(tx, sql`select pg_backend_pid() as id, '' as note`))[0]!.id;
      // From another connection, as a restart or a failover would; then wait until the backend is gone.
      await t.database.db.execute(sql`select pg_terminate_backend(${pid})`);
      await eventually(async () => {
        const alive = await rows(
          t.database.db,
          sql`select pid as id, '' as note from pg_stat_activity where pid = ${pid}`,
        );
        return alive.length === 0 ? true : undefined;
      });
      // Between two statements, the connection's error came with no query to take it: without a
      // listener, it would have been an uncaught exception (the test run would fail).
      await tx.execute(sql`insert into tx_probe values (71, 'never sent')`);
    });
    await expect(dropped).rejects.toThrow();
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (70, 71)`)).toEqual([]);
    // The pool replaced the connection: transactions go on.
    await Promise.all(
      [72, 73, 74, 75, 76].map((id) =>
        t.database.transaction(async (tx) => {
          await tx.execute(sql`insert into tx_probe values (${id}, 'after the drop')`);
        }),
      ),
    );
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id between 72 and 76`)).toHaveLength(5);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('a connection after a failed COMMIT (PostgreSQL, a pool of one)', () => {
  const backendPid = async (database: Awaited<ReturnType<typeof openDatabase>>) =>
    database.transaction(async (tx) => (await rows(tx, sql`select pg_backend_pid() as id, '' as note`))[0]!.id);

  it('is kept when the server refuses the COMMIT (a deferred constraint), and closed when it is dropped there', async () => {
    await t.database.db.execute(sql`
      create table tx_deferred (id int primary key, parent int references tx_probe (id) deferrable initially deferred)`);
    await t.database.db.execute(sql`
      create function tx_wait_at_commit() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock(727727); return null; end $$`);
    await t.database.db.execute(sql`
      create constraint trigger tx_wait_at_commit after insert on tx_deferred deferrable initially deferred
      for each row when (new.id >= 1000) execute function tx_wait_at_commit()`);
    const database = await openDatabase({ url: t.config.DATABASE_URL!, poolSize: 1 });
    try {
      const first = await backendPid(database);
      const refused = database.transaction(async (tx) => {
        await tx.execute(sql`insert into tx_deferred values (1, 999999)`);
      });
      expect(databaseError(await refused.catch((error: unknown) => error)).code).toBe('23503');
      expect(await backendPid(database)).toBe(first);

      // The COMMIT waits in the deferred trigger for a lock held elsewhere; the server then drops it.
      const holder = await openDatabase({ url: t.config.DATABASE_URL!, poolSize: 1 });
      try {
        await holder.db.execute(sql`select pg_advisory_lock(727727)`);
        const dropped = database.transaction(async (tx) => {
          await tx.execute(sql`insert into tx_deferred values (1000, null)`);
        });
        await eventually(async () => {
          const waiting = await rows(
            t.database.db,
            sql`select pid as id, '' as note from pg_stat_activity where pid = ${first} and wait_event_type = 'Lock'`,
          );
          return waiting.length === 1 ? true : undefined;
        });
        await t.database.db.execute(sql`select pg_terminate_backend(${first})`);
        await expect(dropped).rejects.toThrow();
      } finally {
        await holder.close();
      }
      // Not handed to the next transaction: that one runs on a new connection.
      const next = await backendPid(database);
      expect(next).not.toBe(first);
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('a statement prepared before a migration', () => {
  it('costs no registration: the connection that had it is closed and the write runs again on another', async () => {
    const tenant = await createTenant(t.app);
    const register = async (n: number) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/patients',
        headers: { authorization: `Bearer ${tenant.users.operator.token}` },
        payload: { givenName: 'Stale', familyName: `Statement${n}`, birthDate: '1970-01-01', sex: 'female' },
      });
      return res.statusCode;
    };
    for (const n of [1, 2, 3]) expect(await register(n)).toBe(201);
    // A migration from a newer instance changes a column's type under the prepared INSERT's RETURNING.
    await t.database.db.execute(sql`alter table patients alter column phone type varchar(40)`);
    const after = [];
    for (const n of [4, 5, 6, 7, 8, 9]) after.push(await register(n));
    expect(after).toEqual([201, 201, 201, 201, 201, 201]);
  });
});

describe('a unit of work on it', () => {
  it('refuses a write that went past a failed statement, on both databases: nothing of it commits', async () => {
    const tenant = await createTenant(t.app);
    const ctx = systemActing(tenant.organizationId, randomUUID());
    const write = t.app.uow.write(ctx, async (work) => {
      await work.db.execute(sql`insert into tx_probe values (40, 'with a failed statement after it')`);
      await work.db.execute(sql`select 1 / 0`).catch(() => {});
      work.audit({ action: 'probe.write', resourceType: 'probe', resourceId: '40' });
    });
    // Its audit events, written last in the transaction, are refused: the transaction had failed.
    expect(databaseError(await write.catch((error: unknown) => error)).code).toBe('25P02');
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id = 40`)).toEqual([]);
  });
});
