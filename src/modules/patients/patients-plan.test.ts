/**
 * The searches use their indexes at 100,000 patients: the SQL the repository generates is EXPLAINed
 * (with its parameters, as the app runs it) after ANALYZE, on PGlite and on PostgreSQL alike.
 */
import { randomUUID } from 'node:crypto';
import { Placeholder, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers/test-app.js';
import { organizations } from '../../platform/auth/auth.schema.js';
import { type Executor, readLanesFor } from '../../platform/db/database.js';
import type { NameCursor } from './name-cursor.js';
import { type PatientFilter, PatientsRepository } from './patients.repository.js';

const PATIENTS = 100_000;

let t: TestApp;
let repo: PatientsRepository;

beforeAll(async () => {
  t = await buildTestApp();
  const organizationId = randomUUID();
  await t.database.db
    .insert(organizations)
    .values({ id: organizationId, name: 'Plan Test', slug: `plan-${organizationId}` });
  const started = Date.now();
  await t.database.db.transaction(async (tx) => {
    // The rows are valid (the organization exists, no hospital is named): the per-row foreign key
    // triggers, a third of the insert's time on PGlite, are skipped for this one statement.
    await tx.execute(sql`set local session_replication_role = replica`);
    // Names from md5 spelt in 16 letters (a-f, q-z), so a two-letter prefix selects about 1/256 of them.
    await tx.execute(sql`
    insert into patients (id, organization_id, mrn, given_name, family_name, search_given, search_family,
                          birth_date, sex, phone, phone_digits, status)
    select 'bulk-' || lpad(i::text, 8, '0'), ${organizationId}, 'BULK-' || lpad(i::text, 6, '0'),
           initcap(n.given), initcap(n.family), n.given, n.family,
           date '1925-01-01' + (i * 7919 % 36500),
           (array['female', 'male', 'other', 'unknown'])[1 + i % 4],
           '+1 555 ' || lpad(i::text, 7, '0'), '1555' || lpad(i::text, 7, '0'),
           case when i % 20 = 0 then 'archived' else 'active' end
    from generate_series(1, ${PATIENTS}::int) as g(i),
         lateral (select translate(substr(md5('f' || i), 1, 10), '0123456789', 'qrstuvwxyz') as family,
                         translate(substr(md5('g' || i), 1, 8), '0123456789', 'qrstuvwxyz') as given) as n`);
  });
  // As autovacuum leaves a settled table: analyzed, and its pages marked all-visible (index-only scans).
  await t.database.db.execute(sql`vacuum analyze patients`);
  console.info(`patients plan: ${PATIENTS} patients inserted and analyzed in ${Date.now() - started} ms`);
  repo = new PatientsRepository(t.database.db, organizationId);
}, 120_000);
afterAll(() => t.close());

/** Rows of a statement, from either driver (both answer `{ rows }`). */
async function rows<Row>(statement: SQL, executor: Executor = t.database.db): Promise<Row[]> {
  const result: unknown = await executor.execute(statement);
  return (result as { rows: Row[] }).rows;
}

/** The plan of the list query the repository builds for `filter`, as text. */
async function planOf(filter: PatientFilter, cursor?: NameCursor): Promise<string> {
  const query = repo.searchQuery(filter, 25, cursor);
  const result = await rows<Record<string, string>>(sql`explain ${query.getSQL()}`);
  return result.map((row) => row['QUERY PLAN']).join('\n');
}

/**
 * The generic plan of the list query as a prepared statement (as the app runs a search of three
 * letters or more): the statement is PREPAREd with its placeholders, and EXPLAINed with
 * plan_cache_mode forcing the generic plan, which the server reaches after five executions.
 */
async function genericPlanOf(filter: PatientFilter): Promise<string> {
  const values: Record<string, string | number> = {};
  const query = repo.searchQuery(filter, 25, undefined, (name, value) => {
    values[name] = value;
    return sql.placeholder(name);
  });
  const { sql: text, params } = query.toSQL();
  const literal = (param: unknown) => {
    const value = param instanceof Placeholder ? values[param.name] : param;
    return typeof value === 'number' ? String(value) : `'${String(value).replace(/'/g, "''")}'`;
  };
  return t.database.db.transaction(async (tx) => {
    await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
    await tx.execute(sql.raw(`prepare generic_probe as ${text}`));
    try {
      const result: unknown = await tx.execute(
        sql.raw(`explain execute generic_probe(${params.map(literal).join(', ')})`),
      );
      return (result as { rows: Record<string, string>[] }).rows.map((row) => row['QUERY PLAN']).join('\n');
    } finally {
      await tx.execute(sql`deallocate generic_probe`);
    }
  });
}

function expectIndexes(plan: string, indexes: string[]) {
  expect(plan).not.toMatch(/Seq Scan on patients/);
  for (const index of indexes)
    expect(plan).toMatch(new RegExp(`(Bitmap Index|Index Only|Index) Scan (using|on) ${index}\\b`));
}

describe(`patient searches at ${PATIENTS.toLocaleString('en')} patients`, () => {
  it('holds the patients', async () => {
    const [result] = await rows<{ n: number }>(sql`select count(*)::int as n from patients`);
    expect(result!.n).toBeGreaterThanOrEqual(PATIENTS);
  });

  it('finds a name prefix (family or given) through both name indexes', async () => {
    const plan = await planOf({ status: 'active', q: 'Ábc' });
    expectIndexes(plan, ['patients_family_name_idx', 'patients_given_name_idx']);
    // The prefix is an index range, not a filter applied to every row.
    expect(plan).toMatch(/Index Cond: .*search_family.*>=/);
    // Each way of matching is answered from its index alone; only the page's rows are read from the
    // table, by primary key, after the union is cut to the page.
    expect(plan).not.toMatch(/Bitmap Heap Scan|Index Scan using patients_(family|given)_name_idx/);
    expect(plan.match(/Index Only Scan using patients_(family|given)_name_idx/g)?.length).toBe(2);
    expect(plan).toMatch(/Index Scan using patients_(organization_id_idx|pkey)/);
  });

  it('keeps both name ranges in the generic plan of a prepared search (three characters or more)', async () => {
    for (const q of ['abc', 'abc def']) {
      const plan = await genericPlanOf({ status: 'active', q });
      expectIndexes(plan, ['patients_family_name_idx', 'patients_given_name_idx']);
      // The range comes from the from/to parameters: a LIKE parameter alone would scan the whole organization.
      expect(plan).toMatch(/Index Cond: .*search_family >= \$\d+.*search_family < \$\d+/);
      expect(plan).toMatch(/Index Cond: .*search_given >= \$\d+.*search_given < \$\d+/);
    }
  });

  // PostgreSQL re-plans a prepared statement on each call while it finds custom plans cheaper, and
  // planning this union costs as much as running it: the searches run where one plan serves every value.
  it.skipIf(!process.env.DATABASE_URL)('plans a prepared search once on PostgreSQL, whatever the prefix', async () => {
    const prefixes = ['abc', 'qrs', 'xyz', 'fed', 'tuv', 'bad', 'cab', 'wxy', 'rst', 'dea', 'zzz', 'aaa'];
    for (const q of prefixes) await repo.search({ status: 'active', q }, 25, undefined);
    // Sequential calls all go to the first read lane (none has a query in flight): the one that ran them.
    const [statement] = await rows<{ generic: number; custom: number }>(
      sql`select generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements where name = 'patients_search_1_0000'`,
      readLanesFor(t.database.db),
    );
    expect(statement).toEqual({ generic: prefixes.length, custom: 0 });
  });

  it('finds "family given" prefixes through the name indexes', async () => {
    const plan = await planOf({ status: 'active', q: 'abc de' });
    expectIndexes(plan, ['patients_family_name_idx', 'patients_given_name_idx']);
  });

  it('finds an MRN through its index', async () => {
    expectIndexes(await planOf({ status: 'active', mrn: 'BULK-012345' }), ['patients_mrn_idx']);
  });

  it('finds a birth date through its index', async () => {
    expectIndexes(await planOf({ status: 'active', birthDate: '1960-05-17' }), ['patients_birth_date_idx']);
  });

  it('finds a phone number (digits) through its index', async () => {
    expectIndexes(await planOf({ status: 'active', phoneDigits: '15550012345' }), ['patients_phone_idx']);
  });

  it('lists everyone in name order straight from the family name index, without sorting', async () => {
    const plan = await planOf({ status: 'archived' });
    expectIndexes(plan, ['patients_family_name_idx']);
    expect(plan).not.toMatch(/Sort/);
  });

  it('starts a later page at the cursor inside the family name index', async () => {
    const plan = await planOf({ status: 'active' }, { id: 'bulk-00000001' });
    expectIndexes(plan, ['patients_family_name_idx']);
    expect(plan).not.toMatch(/Sort/);
    expect(plan).toMatch(/Index Cond: .*ROW\(/);
  });
});
