import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { type Executor, readLanesFor, openDatabase } from '../src/platform/db/database.js';

const setting = async (executor: Executor, name: 'plan_cache_mode' | 'statement_timeout') => {
  const result: unknown = await executor.execute(sql.raw(`show ${name}`));
  return (result as { rows: Record<string, string>[] }).rows[0]![name];
};

describe.skipIf(!process.env.DATABASE_URL)('the PostgreSQL pool and read lanes', () => {
  it('keeps one plan per statement on the read lanes only, with the URL’s own settings on both', async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('options', '-c statement_timeout=4321');
    const database = await openDatabase({ url: url.toString(), poolSize: 3 });
    try {
      const lanes = readLanesFor(database.db);
      expect(lanes).not.toBe(database.db);
      expect(await setting(lanes, 'plan_cache_mode')).toBe('force_generic_plan');
      expect(await setting(database.db, 'plan_cache_mode')).toBe('auto');
      // Set as each connection opens, not as a startup option: the URL's (and PGOPTIONS') stay in force.
      expect(await setting(lanes, 'statement_timeout')).toBe('4321ms');
      expect(await setting(database.db, 'statement_timeout')).toBe('4321ms');
      await database.ping();
    } finally {
      await database.close();
    }
  });
});
