import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closingStatement, type Executor, openDatabase } from '../src/platform/db/database.js';
import {
  conflictPause,
  retryingConflicts,
  systemActing,
  TRANSACTION_ATTEMPTS,
  type Work,
} from '../src/platform/db/unit-of-work.js';
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

/**
 * Counts what leaves the socket of a pool of one's connection: one call of _write or _writev per write to
 * the kernel.
 */
async function socketWrites(database: Awaited<ReturnType<typeof openDatabase>>): Promise<{ count: number }> {
  const pool = (database.db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  const socket = (client as unknown as { connection: { stream: Record<string, (...args: never[]) => void> } })
    .connection.stream;
  client.release();
  const writes = { count: 0 };
  for (const method of ['_write', '_writev']) {
    const original = socket[method]!.bind(socket);
    socket[method] = (...args: never[]) => {
      writes.count++;
      original(...args);
    };
  }
  return writes;
}

describe.skipIf(!process.env.DATABASE_URL)('Database.transaction on PostgreSQL (pipelined)', () => {
  it('sends BEGIN with the first statement, and the closing statements with the COMMIT: two socket writes', async () => {
    const database = await openDatabase({ url: t.config.DATABASE_URL!, poolSize: 1 });
    try {
      const writes = await socketWrites(database);
      await database.transaction(
        async (tx) => {
          await tx.execute(sql`insert into tx_probe values (50, 'one statement')`);
        },
        () => [
          sql`update tx_probe set note = note || ' +1' where id = 50`,
          sql`update tx_probe set note = note || ' +2' where id = 50`,
        ],
      );
      expect(writes.count).toBe(2);
      expect(await rows(t.database.db, sql`select id, note from tx_probe where id = 50`)).toEqual([
        { id: 50, note: 'one statement +1 +2' },
      ]);
    } finally {
      await database.close();
    }
  });

  it('sends it all in one socket write when the work waits for no answer; a closing statement named once is prepared once', async () => {
    const database = await openDatabase({ url: t.config.DATABASE_URL!, poolSize: 1 });
    try {
      const writes = await socketWrites(database);
      const closing = (id: number) => [
        closingStatement('tx_probe_closing', sql`update tx_probe set note = note || ' +closing' where id = ${id}`),
      ];
      for (const id of [52, 53]) {
        let sent: Promise<unknown> | undefined;
        await database.transaction(
          async (tx) => {
            // Sent now (a drizzle query runs when it is subscribed to), its answer awaited after the commit.
            sent = new Promise((resolve, reject) => {
              void tx.execute(sql`insert into tx_probe values (${id}, 'sent ahead')`).then(resolve, reject);
            });
          },
          () => closing(id),
        );
        await sent;
      }
      expect(writes.count).toBe(2);
      expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (52, 53) order by id`)).toEqual([
        { id: 52, note: 'sent ahead +closing' },
        { id: 53, note: 'sent ahead +closing' },
      ]);
      // The pool's one connection: its session holds the statement, parsed at the first commit only.
      const prepared = await rows(
        database.db,
        sql`select 0 as id, name as note from pg_prepared_statements where name = 'tx_probe_closing'`,
      );
      expect(prepared).toEqual([{ id: 0, note: 'tx_probe_closing' }]);
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
        // Observed at once: it may fail while the test still waits for the lock below.
        const outcome = dropped.then(
          () => 'committed',
          (error: unknown) => error,
        );
        await eventually(async () => {
          const waiting = await rows(
            t.database.db,
            sql`select pid as id, '' as note from pg_stat_activity where pid = ${first} and wait_event_type = 'Lock'`,
          );
          return waiting.length === 1 ? true : undefined;
        });
        await t.database.db.execute(sql`select pg_terminate_backend(${first})`);
        expect(await outcome).toBeInstanceOf(Error);
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
  it('costs no write: the connection that had it is closed and the write runs again on another', async () => {
    await t.database.db.execute(sql`create table tx_stale (id int primary key, note text not null)`);
    const stale = pgTable('tx_stale', { id: integer('id').primaryKey(), note: text('note').notNull() });
    const tenant = await createTenant(t.app);
    const ctx = systemActing(tenant.organizationId, randomUUID());
    // A named INSERT ... RETURNING, prepared on the connection that runs it, sent ahead (`answerAtCommit`),
    // and one awaited in the work: a change of the returned column's type makes both stale (0A000).
    const insert = (executor: Executor) =>
      executor
        .insert(stale)
        .values({ id: sql.placeholder('id'), note: sql.placeholder('note') })
        .returning()
        .prepare('tx_stale_insert');
    const write = async (id: number, ahead: boolean) => {
      await t.app.uow.write(ctx, async (work) => {
        const sent = insert(work.db).execute({ id, note: 'before and after the migration' });
        if (ahead) work.answerAtCommit(sent);
        else await sent;
        work.audit({ action: 'probe.write', resourceType: 'probe', resourceId: String(id) });
      });
      return id;
    };
    for (const id of [1, 2, 3]) await write(id, true);
    await write(4, false);
    // A migration from a newer instance changes the column's type under the prepared statements.
    await t.database.db.execute(sql`alter table tx_stale alter column note type varchar(200)`);
    const after = [];
    // Sent ahead first: an awaited one would have the connection closed, and hide the case.
    for (const id of [5, 6, 7, 8, 9, 10]) after.push(await write(id, id <= 7));
    expect(after).toEqual([5, 6, 7, 8, 9, 10]);
    expect(await rows(t.database.db, sql`select count(*)::int as id, '' as note from tx_stale`)).toEqual([
      { id: 10, note: '' },
    ]);
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

  it('commits statements sent without waiting, and fails with the first one that failed, on both databases', async () => {
    const tenant = await createTenant(t.app);
    const ctx = systemActing(tenant.organizationId, randomUUID());
    const audited = async (resourceId: string) => {
      await t.app.auditLog.drain();
      const found = await rows(
        t.database.db,
        sql`select count(*)::int as id, 'linked' as note from audit_events
              where organization_id = ${tenant.organizationId} and resource_id = ${resourceId}
            union all
            select count(*)::int, 'pending' from audit_pending where record ->> 'resource_id' = ${resourceId}`,
      );
      return found.reduce((sum, row) => sum + row.id, 0);
    };

    const value = await t.app.uow.write(ctx, async (work) => {
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (41, 'sent ahead')`));
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (42, 'sent ahead too')`));
      work.audit({ action: 'probe.write', resourceType: 'probe', resourceId: '41' });
      return 'answered before the statements were';
    });
    expect(value).toBe('answered before the statements were');
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (41, 42) order by id`)).toEqual([
      { id: 41, note: 'sent ahead' },
      { id: 42, note: 'sent ahead too' },
    ]);
    expect(await audited('41')).toBe(1);

    // The second statement is refused (a duplicate key): the write fails with that error, not with the
    // rollback it caused or the statements refused after it, and nothing of it commits.
    const refused = t.app.uow.write(ctx, async (work) => {
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (43, 'rolled back with the rest')`));
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (41, 'a duplicate')`));
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (44, 'refused after it')`));
      work.audit({ action: 'probe.write', resourceType: 'probe', resourceId: '43' });
    });
    const error = databaseError(await refused.catch((failure: unknown) => failure));
    expect([error.code, error.constraint]).toEqual(['23505', 'tx_probe_pkey']);
    expect(await rows(t.database.db, sql`select id, note from tx_probe where id in (43, 44)`)).toEqual([]);
    expect(await audited('43')).toBe(0);

    // The operation's own error is the write's, even when a statement it sent ahead failed too.
    let finished: Work | undefined;
    const gaveUp = t.app.uow.write(ctx, async (work) => {
      finished = work;
      work.answerAtCommit(work.db.execute(sql`insert into tx_probe values (41, 'a duplicate again')`));
      throw new Error('the operation gave up');
    });
    await expect(gaveUp).rejects.toThrow('the operation gave up');
    // Once the operation is over, nothing more is sent ahead: its COMMIT may already be on its way.
    expect(() => finished!.answerAtCommit(Promise.resolve())).toThrow('after the write');
  });
});

describe('a transaction PostgreSQL ended for a conflict', () => {
  const failing = (code: string) => Object.assign(new Error(`failed with ${code}`), { code });
  const attempts = (codes: string[]) => {
    const tried: number[] = [];
    const paused: number[] = [];
    const run = retryingConflicts(
      async () => {
        tried.push(tried.length + 1);
        const code = codes[tried.length - 1];
        if (code) throw failing(code);
        return 'committed';
      },
      async (attempt) => void paused.push(attempt),
    );
    return { run, tried, paused };
  };

  it('runs again after a pause that grows with each try; a stale statement runs again at once', async () => {
    const conflicts = attempts(['40P01', '40001']);
    expect(await conflicts.run).toBe('committed');
    expect(conflicts.tried).toEqual([1, 2, 3]);
    expect(conflicts.paused).toEqual([1, 2]);
    const stale = attempts(['0A000']);
    expect(await stale.run).toBe('committed');
    expect(stale.paused).toEqual([]);
  });

  it(`gives up after ${TRANSACTION_ATTEMPTS} tries, and never retries any other error`, async () => {
    const deadlocks = attempts(['40P01', '40P01', '40P01']);
    await expect(deadlocks.run).rejects.toMatchObject({ code: '40P01' });
    expect(deadlocks.tried).toHaveLength(TRANSACTION_ATTEMPTS);
    const unique = attempts(['23505']);
    await expect(unique.run).rejects.toMatchObject({ code: '23505' });
    expect(unique.tried).toEqual([1]);
  });

  it('pauses a few milliseconds, at random, longer after each try', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const ended = (attempt: number, ms: number) => {
        let done = false;
        void conflictPause(attempt).then(() => (done = true));
        vi.advanceTimersByTime(ms);
        return Promise.resolve().then(() => done);
      };
      expect(await ended(1, 4)).toBe(false);
      expect(await ended(1, 10)).toBe(true);
      expect(await ended(2, 9)).toBe(false);
      expect(await ended(2, 20)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
