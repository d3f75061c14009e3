import { and, asc, eq, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { NameCursor } from './name-cursor.js';
import { foldForSearch } from './patient-names.js';
import { patients } from './patients.schema.js';
import type { PatientStatus } from './patients.shapes.js';

export type PatientRow = typeof patients.$inferSelect;
export type NewPatient = Omit<typeof patients.$inferInsert, 'organizationId'>;
export type PatientChanges = Partial<Omit<NewPatient, 'id' | 'mrn' | 'createdAt'>>;

/** What a list may filter on; every filter is an equality or a prefix some index serves. */
export interface PatientFilter {
  status: PatientStatus;
  /** A name prefix as typed; folded here exactly as the stored search columns are. */
  q?: string;
  birthDate?: string;
  mrn?: string;
  phoneDigits?: string;
}

/** The name lookup of `GET /patients/lookup`: whole folded names (not prefixes) and a second identifier. */
export interface LookupKeys {
  mrn?: string;
  familyName?: string;
  givenName?: string;
  birthDate?: string;
}

// Exactly the expressions of patients_family_name_idx and patients_given_name_idx: a LIKE prefix on
// them becomes an index range only in the C collation, and the sort order is theirs too.
const family = sql`${patients.searchFamily} collate "C"`;
const given = sql`${patients.searchGiven} collate "C"`;

/** Words of a search beyond this many are ignored (each split adds OR branches). */
const MAX_WORDS = 4;

/** `prefix` as a LIKE pattern that matches it literally at the start: % _ and \ escaped. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const startsWith = (column: SQL, prefix: string) => sql`${column} like ${likePrefix(prefix)}`;

/**
 * "jo" matches a family or a given name starting with "jo". Several words are also tried split in
 * two: "garcia jo" matches family "garcia..." with given "jo..." (and given "garcia..." with family
 * "jo..."), besides a compound family or given name starting with "garcia jo". One condition per
 * way of matching (the search takes the first rows of each, then the first of those).
 */
export function namePrefixBranches(q: string): SQL[] {
  const folded = foldForSearch(q);
  if (folded === '') return [];
  const words = folded.split(' ').slice(0, MAX_WORDS);
  const whole = words.join(' ');
  const branches: SQL[] = [startsWith(family, whole), startsWith(given, whole)];
  for (let k = 1; k < words.length; k++) {
    const head = words.slice(0, k).join(' ');
    const tail = words.slice(k).join(' ');
    branches.push(and(startsWith(family, head), startsWith(given, tail))!);
    branches.push(and(startsWith(given, head), startsWith(family, tail))!);
  }
  return branches;
}

/**
 * A patient by id, prepared once per executor (the database, or a transaction that reads several):
 * the cache-aside load of a patient is the hottest statement there is, and building its SQL and
 * planning it again on every call cost more than running it. Same tenant condition as `where`, the
 * organization bound on each call.
 */
const findStatements = new WeakMap<Executor, ReturnType<typeof prepareFind>>();
const prepareFind = (db: Executor) =>
  db
    .select()
    .from(patients)
    .where(and(eq(patients.organizationId, sql.placeholder('organizationId')), eq(patients.id, sql.placeholder('id'))))
    .prepare('patients_find');

/** All SQL on one organization's patients and its MRN counter. */
export class PatientsRepository extends TenantRepository {
  /**
   * The list query, not yet run (so a test can EXPLAIN exactly this SQL): sorted by (family, given,
   * id) in the C collation, after `cursor`, `limit + 1` rows.
   */
  searchQuery(filter: PatientFilter, limit: number, cursor: NameCursor | undefined) {
    const p = patients;
    const order = [asc(family), asc(given), asc(p.id)];
    const filters = this.where(
      p,
      eq(p.status, filter.status),
      filter.birthDate === undefined ? undefined : eq(p.birthDate, filter.birthDate),
      filter.mrn === undefined ? undefined : eq(p.mrn, filter.mrn),
      filter.phoneDigits === undefined ? undefined : eq(p.phoneDigits, filter.phoneDigits),
      cursor
        ? sql`(${family}, ${given}, ${p.id}) > (select c.search_family collate "C", c.search_given collate "C", c.id from patients c where c.organization_id = ${this.organizationId} and c.id = ${cursor.id})`
        : undefined,
    );
    const branches = filter.q === undefined ? [] : namePrefixBranches(filter.q);
    if (branches.length === 0) {
      return this.db
        .select()
        .from(p)
        .where(filters)
        .orderBy(...order)
        .limit(limit + 1);
    }
    // A name prefix: the first rows of each way of matching, each an index-only range (an OR of them
    // would walk the family index from its start, filtering): the family range is in name order; the
    // given range is sorted, or the family index walked, as the planner finds cheaper. Then the first of
    // those by their index entries, so that only the page's own rows are read from the table.
    const firstOf = branches.map(
      (branch) =>
        sql`(select ${p.id} as id, ${family} as f, ${given} as g from ${p} where ${filters} and ${branch} order by 2, 3, 1 limit ${limit + 1})`,
    );
    const page = sql`select m.id from (${sql.join(firstOf, sql` union `)}) as m order by m.f, m.g, m.id limit ${limit + 1}`;
    return this.db
      .select()
      .from(p)
      .where(this.where(p, sql`${p.id} in (${page})`))
      .orderBy(...order)
      .limit(limit + 1);
  }

  search(filter: PatientFilter, limit: number, cursor: NameCursor | undefined): Promise<PatientRow[]> {
    return this.searchQuery(filter, limit, cursor);
  }

  /** Active patients matching every key given; at most two (two already means "ambiguous"). */
  lookup(keys: LookupKeys): Promise<PatientRow[]> {
    const p = patients;
    return this.db
      .select()
      .from(p)
      .where(
        this.where(
          p,
          eq(p.status, 'active'),
          keys.mrn === undefined ? undefined : eq(p.mrn, keys.mrn),
          keys.birthDate === undefined ? undefined : eq(p.birthDate, keys.birthDate),
          keys.familyName === undefined ? undefined : eq(p.searchFamily, foldForSearch(keys.familyName)),
          keys.givenName === undefined ? undefined : eq(p.searchGiven, foldForSearch(keys.givenName)),
        ),
      )
      .orderBy(asc(p.id))
      .limit(2);
  }

  async find(id: string): Promise<PatientRow | undefined> {
    let statement = findStatements.get(this.db);
    if (!statement) {
      statement = prepareFind(this.db);
      findStatements.set(this.db, statement);
    }
    const [row] = await statement.execute({ organizationId: this.organizationId, id });
    return row;
  }

  /** The patient, locked until the end of the transaction (a change reads, checks, then writes). */
  async lock(id: string): Promise<PatientRow | undefined> {
    const [row] = await this.db
      .select()
      .from(patients)
      .where(this.where(patients, eq(patients.id, id)))
      .for('update');
    return row;
  }

  async status(id: string): Promise<PatientStatus | undefined> {
    const [row] = await this.db
      .select({ status: patients.status })
      .from(patients)
      .where(this.where(patients, eq(patients.id, id)));
    return row?.status as PatientStatus | undefined;
  }

  /** Inserts the patient, or returns undefined when its MRN is taken (nothing is inserted then). */
  async insert(values: NewPatient): Promise<PatientRow | undefined> {
    const [row] = await this.db
      .insert(patients)
      .values(this.owned(values))
      .onConflictDoNothing({ target: [patients.organizationId, patients.mrn] })
      .returning();
    return row;
  }

  async update(id: string, changes: PatientChanges): Promise<PatientRow | undefined> {
    const [row] = await this.db
      .update(patients)
      .set(changes)
      .where(this.where(patients, eq(patients.id, id)))
      .returning();
    return row;
  }
}
