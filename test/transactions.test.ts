import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../src/platform/db/database.js';
import { systemActing } from '../src/platform/db/unit-of-work.js';
import { databaseError } from '../src/platform/http/errors.js';
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
