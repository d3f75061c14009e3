/**
 * The maintenance embedded PGlite gets instead of autovacuum (src/platform/db/maintenance.ts). The
 * pass is run directly, on either database: the probe tables have autovacuum off, so PostgreSQL's own
 * does not get there first.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAINTENANCE_INTERVAL_MS, maintainTables, scheduleMaintenance } from '../src/platform/db/maintenance.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

async function rows<Row>(statement: ReturnType<typeof sql>): Promise<Row[]> {
  const result: unknown = await t.database.db.execute(statement);
  return (result as { rows: Row[] }).rows;
}

interface TableStats {
  inserted: number;
  updated: number;
  dead: number;
  changed: number;
  vacuumed: boolean;
  statistics: number;
}

async function statsOf(table: string): Promise<TableStats> {
  const [row] = await rows<TableStats>(sql`
    select s.n_tup_ins::int as inserted, s.n_tup_upd::int as updated, s.n_dead_tup::int as dead, s.n_mod_since_analyze::int as changed,
           (s.last_vacuum is not null) as vacuumed,
           (select count(*)::int from pg_statistic st where st.starelid = s.relid) as statistics
    from pg_stat_user_tables s where s.relname = ${table}`);
  return row!;
}

describe('embedded database maintenance', () => {
  it('vacuums and analyzes a table past the thresholds, then leaves it until it changes again', async () => {
    await t.database.db.execute(
      sql.raw(`create table maint_churn (id int primary key, v text) with (autovacuum_enabled = false)`),
    );
    await t.database.db.execute(sql.raw(`insert into maint_churn select g, 'a' from generate_series(1, 5000) g`));
    await t.database.db.execute(sql.raw(`update maint_churn set v = 'b'`));
    // On PostgreSQL each statement may run on another pooled connection, and a connection that goes
    // idle hands its activity counters to the statistics views up to 10 s later (PostgreSQL 15's idle
    // flush). Wait for both statements' counters, or the insert's 5,000 changes could arrive after the
    // analyze below and count as changes since it. (5,000 dead rows, past 50 + 20 % of 5,000; on-access
    // pruning may already have reclaimed a few.)
    await vi.waitFor(
      async () => {
        const stats = await statsOf('maint_churn');
        expect(stats).toMatchObject({ inserted: 5000, updated: 5000 });
        expect(stats.dead).toBeGreaterThan(1050);
      },
      { timeout: 15_000 },
    );

    const pass = await maintainTables(t.database.db);
    expect(pass.vacuumed).toContain('public.maint_churn');
    await vi.waitFor(
      async () => expect(await statsOf('maint_churn')).toMatchObject({ dead: 0, changed: 0, vacuumed: true }),
      { timeout: 15_000 },
    );
    expect((await statsOf('maint_churn')).statistics).toBeGreaterThan(0);

    // A few changes stay under the thresholds: the next pass leaves the table alone.
    await t.database.db.execute(sql.raw(`update maint_churn set v = 'c' where id <= 10`));
    await vi.waitFor(async () => expect((await statsOf('maint_churn')).changed).toBe(10), { timeout: 15_000 });
    const next = await maintainTables(t.database.db);
    expect([...next.vacuumed, ...next.analyzed]).not.toContain('public.maint_churn');
  }, 60_000); // two of the waits above may each take the 10 s idle flush

  it('gives a table with rows but no statistics its first vacuum and analyze, whatever the counters say', async () => {
    // As after PGlite reopens a database: the activity counters are gone, the rows are not.
    await t.database.db.execute(
      sql.raw(`create table maint_fresh (id int primary key) with (autovacuum_enabled = false)`),
    );
    await t.database.db.execute(sql.raw(`insert into maint_fresh select generate_series(1, 20)`));
    expect((await statsOf('maint_fresh')).statistics).toBe(0);
    const pass = await maintainTables(t.database.db);
    expect(pass.vacuumed).toContain('public.maint_fresh');
    expect((await statsOf('maint_fresh')).statistics).toBeGreaterThan(0);
  });

  it('runs by itself every MAINTENANCE_INTERVAL_MS once scheduled, and not after it is stopped', async () => {
    await t.database.db.execute(
      sql.raw(`create table maint_timer (id int primary key) with (autovacuum_enabled = false)`),
    );
    await t.database.db.execute(sql.raw(`insert into maint_timer select generate_series(1, 20)`));
    const logged: unknown[] = [];
    const log = { info: (fields: unknown) => logged.push(fields), warn: (fields: unknown) => logged.push(fields) };
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const stop = scheduleMaintenance(t.database.db, log as never);
      vi.advanceTimersByTime(MAINTENANCE_INTERVAL_MS - 1);
      expect(logged).toEqual([]);
      vi.advanceTimersByTime(1);
      await vi.waitFor(() => expect(logged).toHaveLength(1), { timeout: 15_000 });
      expect(logged[0]).toMatchObject({ vacuumed: expect.arrayContaining(['public.maint_timer']) });
      await stop();
      vi.advanceTimersByTime(MAINTENANCE_INTERVAL_MS * 3);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    expect((await statsOf('maint_timer')).statistics).toBeGreaterThan(0);
  });
});
