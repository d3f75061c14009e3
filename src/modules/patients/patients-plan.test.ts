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
import type { PatientFilter } from './patient-name-search.js';
import { PatientsRepository } from './patients.repository.js';

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
async function genericPlanOf(filter: PatientFilter, cursor?: NameCursor): Promise<string> {
  const values: Record<string, string | number> = {};
  const query = repo.searchQuery(filter, 25, cursor, (name, value) => {
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

/**
 * The node above each scan of a name index: `Limit` when the scan stops at the page, `Sort` when every
 * match is read to be sorted first.
 */
function aboveNameIndexScans(plan: string): string[] {
  // The plan's nodes ("  ->  Limit  (cost=..."), with their indentation; not their details (Index Cond: ...).
  const nodes = plan.split('\n').flatMap((line) => {
    const match = /^(\s*)(?:->\s+)?(\S.*?)\s+\(cost=/.exec(line);
    return match ? [{ depth: match[1]!.length, name: match[2]! }] : [];
  });
  return nodes.flatMap((node, i) => {
    if (!/Index (Only )?Scan using patients_(family|given)_name_idx/.test(node.name)) return [];
    const parent = nodes
      .slice(0, i)
      .reverse()
      .find((above) => above.depth < node.depth);
    return [parent?.name.split(' ')[0] ?? 'none'];
  });
}

/** `column >= $n ... column < $n` in an index condition, as either server prints it. */
const rangeOf = (column: string) =>
  new RegExp(`Index Cond: .*${column}\\)?(::text)? >= \\$\\d+.*${column}\\)?(::text)? < \\$\\d+`);

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

  it('tells a scan that stops at the page from one sorted whole (the check the tests below rely on)', () => {
    const plan = [
      'Limit  (cost=1.00..2.00 rows=21 width=8)',
      '  ->  Merge Append  (cost=1.00..2.00 rows=21 width=8)',
      '        Sort Key: search_family',
      '        ->  Limit  (cost=0.42..2.00 rows=21 width=8)',
      '              ->  Index Scan using patients_family_name_idx on patients  (cost=0.42..9.00 rows=9 width=8)',
      '                    Index Cond: (organization_id = $1)',
      '        ->  Limit  (cost=9.00..9.10 rows=21 width=8)',
      '              ->  Sort  (cost=9.00..9.10 rows=900 width=8)',
      '                    Sort Key: search_family',
      '                    ->  Index Only Scan using patients_given_name_idx on patients p  (cost=0.42..8.00 rows=900 width=8)',
    ].join('\n');
    expect(aboveNameIndexScans(plan)).toEqual(['Limit', 'Sort']);
  });

  it('finds a name prefix (family or given) through both name indexes, in name order', async () => {
    const plan = await planOf({ status: 'active', q: 'Ábc' });
    expectIndexes(plan, ['patients_family_name_idx', 'patients_given_name_idx']);
    // The prefix is an index range, not a filter applied to every row.
    expect(plan).toMatch(/Index Cond: .*search_family.*>=/);
    // Both ways of matching come out of their indexes in name order and are merged up to the page:
    // nothing reads every match to sort it.
    expect(plan).toMatch(/Merge Append/);
    expect(aboveNameIndexScans(plan)).toEqual(['Limit', 'Limit']);
    expect(plan).not.toMatch(/Bitmap Heap Scan/);
  });

  it('keeps both name ranges, in name order, in the generic plan of a prepared search (three characters or more)', async () => {
    for (const q of ['abc', 'abc def']) {
      const plan = await genericPlanOf({ status: 'active', q });
      expectIndexes(plan, ['patients_family_name_idx', 'patients_given_name_idx']);
      // The range comes from the from/to parameters: a LIKE parameter alone would scan the whole organization.
      expect(plan).toMatch(rangeOf('search_family'));
      expect(plan).toMatch(rangeOf('search_given'));
      // The given-name index is entered at the prefix's first three characters, where it is in name order.
      expect(plan).toMatch(/Index Cond: .*"left"\(search_given, 3\)\)?(::text)? = \$\d+/);
      expect(plan).toMatch(/Merge Append/);
      expect(new Set(aboveNameIndexScans(plan))).toEqual(new Set(['Limit']));
    }
  });

  it("sorts a short given-name prefix's matches from the index alone, reading only the page from the table", async () => {
    // "ab" is a range of the given-name index's three-character leads, not in name order: every match is
    // sorted, from index entries, and only the first rows are read by key.
    const plan = await planOf({ status: 'active', q: 'ab' });
    expect(plan).toMatch(/Index Only Scan using patients_given_name_idx/);
    expect(plan).not.toMatch(/Index Scan using patients_given_name_idx/);
    expect(plan).toMatch(/Index Scan using patients_(organization_id_idx|pkey)/);
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

  it('finds a name with a birth date through the birth date index, also on a later page', async () => {
    // The given-name index would serve the name in order, reading a table row for each entry to check its
    // birth date; the birth date's own index selects a handful.
    for (const cursor of [undefined, { id: 'bulk-00000001' }]) {
      const plan = await genericPlanOf({ status: 'active', q: 'abc', birthDate: '1960-05-17' }, cursor);
      expectIndexes(plan, ['patients_birth_date_idx']);
      expect(plan).not.toMatch(/patients_given_name_idx/);
    }
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
