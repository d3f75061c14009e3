import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Executor } from './database.js';

/** How often embedded PGlite's tables are checked (PostgreSQL's autovacuum checks every minute). */
export const MAINTENANCE_INTERVAL_MS = 60_000;

export interface MaintenancePass {
  /** `schema.table` vacuumed (and analyzed with it). */
  vacuumed: string[];
  /** `schema.table` analyzed only. */
  analyzed: string[];
}

/**
 * What PostgreSQL's autovacuum does, for embedded PGlite, which runs none (a single-user backend has no
 * background workers): without it, the planner never gets statistics (at 100,000 patients a name search
 * walked the wrong index, then, analyzed but not vacuumed, took 10 ms to plan: 13.5 ms of CPU per search
 * against about 4), dead rows are never reclaimed (the job queue and the outbox update and delete all
 * the time), and index-only scans read the table anyway. Same thresholds as autovacuum's defaults: vacuum past 50 + 20 % dead rows, or 1,000 + 20 %
 * inserts since the last vacuum; analyze past 50 + 10 % changed rows. Those counters start again at zero
 * when PGlite reopens, so a table is also vacuumed when it holds data but has no statistics at all, or
 * when fewer than half its pages are known all-visible (the planner's probes of an index's ends, and
 * index-only scans, then read the table). One table at a time, so that requests get the database
 * between them.
 */
export async function maintainTables(db: Executor): Promise<MaintenancePass> {
  const result: unknown = await db.execute(sql`
    select name, needs_vacuum as vacuum from (
      select format('%I.%I', s.schemaname, s.relname) as name, s.n_dead_tup, s.n_mod_since_analyze,
             (s.n_dead_tup > 50 + 0.2 * t.rows
               or s.n_ins_since_vacuum > 1000 + 0.2 * t.rows
               or (c.relpages > 8 and c.relallvisible < c.relpages / 2)
               or (not exists (select 1 from pg_statistic st where st.starelid = s.relid)
                   and pg_relation_size(s.relid) > 0)) as needs_vacuum,
             s.n_mod_since_analyze > 50 + 0.1 * t.rows as needs_analyze
      from pg_stat_user_tables s
      join pg_class c on c.oid = s.relid
      cross join lateral (select greatest(c.reltuples, s.n_live_tup, 0) as rows) t
    ) as due
    where needs_vacuum or needs_analyze
    order by n_dead_tup desc, n_mod_since_analyze desc`);
  const pass: MaintenancePass = { vacuumed: [], analyzed: [] };
  for (const table of (result as { rows: { name: string; vacuum: boolean }[] }).rows) {
    // The name comes from the catalog, quoted by format('%I'); VACUUM and ANALYZE take no parameters.
    await db.execute(sql.raw(`${table.vacuum ? 'vacuum (analyze)' : 'analyze'} ${table.name}`));
    (table.vacuum ? pass.vacuumed : pass.analyzed).push(table.name);
  }
  return pass;
}

/**
 * Runs `maintainTables` every MAINTENANCE_INTERVAL_MS, one pass at a time. The returned function stops
 * it, and resolves once a pass under way has finished (so the database is not closed during a VACUUM).
 */
export function scheduleMaintenance(db: Executor, log: FastifyBaseLogger): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    const started = performance.now();
    running = maintainTables(db)
      .then((pass) => {
        if (pass.vacuumed.length + pass.analyzed.length === 0) return;
        log.info({ ...pass, ms: Math.round(performance.now() - started) }, 'embedded database maintained');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'embedded database maintenance failed'))
      .finally(() => (running = undefined));
  }, MAINTENANCE_INTERVAL_MS).unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
