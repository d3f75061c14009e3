import { and, asc, eq, getTableName, inArray, not, Placeholder, type SQL, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { type Executor, readLanesFor } from '../../platform/db/database.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { NameCursor } from './name-cursor.js';
import { foldForSearch } from './patient-names.js';
import { patients } from './patients.schema.js';
import type { PatientStatus } from './patients.shapes.js';

export type PatientRow = typeof patients.$inferSelect;

/**
 * What a list shows of each patient: who they are, enough to tell namesakes apart (birth date, sex, MRN), and
 * nothing of their contacts, address or clinical data, which a reader opens one patient at a time.
 */
const summaryColumns = {
  id: patients.id,
  mrn: patients.mrn,
  givenName: patients.givenName,
  familyName: patients.familyName,
  birthDate: patients.birthDate,
  sex: patients.sex,
  status: patients.status,
  primaryHospitalId: patients.primaryHospitalId,
};
export type PatientSummaryRow = Pick<PatientRow, keyof typeof summaryColumns>;
export type NewPatient = Omit<typeof patients.$inferInsert, 'organizationId'>;
/** What a registration writes: every column but the generated id and the status (active). */
export type Registration = Required<Omit<NewPatient, 'id' | 'status'>>;
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
/** How many leading characters of the given name patients_given_name_idx leads with. */
const GIVEN_LEAD = 3;
const givenLead = sql`left(${patients.searchGiven}, ${sql.raw(String(GIVEN_LEAD))}) collate "C"`;

/** Words of a search beyond this many are ignored (each split adds OR branches). */
const MAX_WORDS = 4;
/**
 * Name searches whose every word has at least this many characters run as prepared statements (lists
 * without a name always do), on the read lanes, which keep one generic plan per statement (`readLanesFor`):
 * one plan then serves every prefix, which is right when a prefix selects few rows, and planning the
 * union again on every call cost as much as running it. A shorter prefix ("a") can select a tenth of
 * the table, and is planned for its own value, as the planner may then walk the family index rather
 * than sort every given name that matches.
 */
const PREPARED_MIN_CHARACTERS = 3;

/** `prefix` as a LIKE pattern that matches it literally at the start: % _ and \ escaped. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The least string greater than every string that starts with `prefix`, in code point order (the C
 * collation's order for UTF-8): the prefix with its last character raised by one. Undefined when no
 * such string exists (a prefix of only U+10FFFF).
 */
export function prefixEnd(prefix: string): string | undefined {
  const chars = [...prefix];
  while (chars.length > 0) {
    let next = chars.pop()!.codePointAt(0)! + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // no text holds a lone surrogate
    if (next <= 0x10ffff) return chars.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/** A value as the query takes it: itself (a bound parameter), or a placeholder of a prepared statement. */
type Bind = <V extends string | number>(name: string, value: V) => V | Placeholder;

const boundInline: Bind = (_name, value) => value;

/** The parts of a search: a name prefix's words, its filters; what decides the statement's text. */
export interface SearchTerms {
  words: string[];
  filter: PatientFilter;
  limit: number;
  cursor: NameCursor | undefined;
}

/** One way of matching a name search; `sortedFromIndex` when its matches are not in name order in any index. */
interface NameBranch {
  condition: SQL;
  sortedFromIndex: boolean;
}

/**
 * "jo" matches a family or a given name starting with "jo". Several words are also tried split in
 * two: "garcia jo" matches family "garcia..." with given "jo..." (and given "garcia..." with family
 * "jo..."), besides a compound family or given name starting with "garcia jo". One condition per
 * way of matching (the search takes the first rows of each, then the first of those). Each prefix is
 * an index range (from, to) besides its LIKE, so that a prepared statement's generic plan, which
 * cannot read a range out of a LIKE parameter, still scans only that range.
 *
 * With `lead`, a given-name prefix is also a condition on the name's first three characters, which
 * patients_given_name_idx leads with: equal to the prefix's first three, where the index is in name
 * order. A shorter prefix ("li", never prepared) is that condition alone, as a LIKE that the planner
 * reads for its value: a range of the index that is not in name order. Without `lead` (a search that
 * also filters on an indexed equality, birth date, MRN or phone), the given name is only checked.
 */
function namePrefixBranches(words: string[], bind: Bind, lead: boolean): NameBranch[] {
  // Placeholders are named by position, so that searches of one shape have one text whatever their words.
  let n = 0;
  const startsWith = (column: SQL, prefix: string) => {
    const at = n++;
    const end = prefixEnd(prefix);
    const upper = end === undefined ? sql`` : sql` and ${column} < ${bind(`to${at}`, end)}`;
    return sql`${column} >= ${bind(`from${at}`, prefix)}${upper} and ${column} like ${bind(`like${at}`, likePrefix(prefix))}`;
  };
  const short = (prefix: string) => [...prefix].length < GIVEN_LEAD;
  const familyStartsWith = (prefix: string) => sql`(${startsWith(family, prefix)})`;
  const givenStartsWith = (prefix: string) => {
    if (!lead) return sql`(${startsWith(given, prefix)})`;
    const at = n++;
    if (short(prefix)) return sql`(${givenLead} like ${bind(`lead${at}`, likePrefix(prefix))})`;
    const first = [...prefix].slice(0, GIVEN_LEAD).join('');
    return sql`(${givenLead} = ${bind(`lead${at}`, first)} and ${startsWith(given, prefix)})`;
  };
  const sortedFromIndex = (givenPrefix: string) => lead && short(givenPrefix);
  const whole = words.join(' ');
  const branches: NameBranch[] = [
    { condition: familyStartsWith(whole), sortedFromIndex: false },
    { condition: givenStartsWith(whole), sortedFromIndex: sortedFromIndex(whole) },
  ];
  for (let k = 1; k < words.length; k++) {
    const head = words.slice(0, k).join(' ');
    const tail = words.slice(k).join(' ');
    branches.push({ condition: and(familyStartsWith(head), givenStartsWith(tail))!, sortedFromIndex: false });
    branches.push({ condition: and(givenStartsWith(head), familyStartsWith(tail))!, sortedFromIndex: false });
  }
  return branches;
}

/** The folded words of a name search, at most MAX_WORDS; none for no search. */
export function searchWords(q: string | undefined): string[] {
  const folded = q === undefined ? '' : foldForSearch(q);
  return folded === '' ? [] : folded.split(' ').slice(0, MAX_WORDS);
}

/**
 * What decides a search statement's text, as its prepared name; undefined when the search is not
 * prepared (a word shorter than PREPARED_MIN_CHARACTERS, or a prefix with no end).
 */
export function preparedShape({ words, filter, cursor }: SearchTerms): string | undefined {
  if (words.some((word) => [...word].length < PREPARED_MIN_CHARACTERS || prefixEnd(word) === undefined))
    return undefined;
  const flags = [filter.birthDate, filter.mrn, filter.phoneDigits, cursor].map((v) => (v === undefined ? 0 : 1));
  return `patients_search_${words.length}_${flags.join('')}`;
}

/** Whether a search's given-name branches may lead with the given-name index: not when an indexed equality is there. */
const leadsWithGivenName = ({ filter }: SearchTerms) =>
  filter.birthDate === undefined && filter.mrn === undefined && filter.phoneDigits === undefined;

/** What `make` gives for an executor, made on its first call with that executor and kept while it lives. */
function perExecutor<T>(make: (db: Executor) => T): (db: Executor) => T {
  const made = new WeakMap<Executor, T>();
  return (db) => {
    let value = made.get(db);
    if (value === undefined) {
      value = make(db);
      made.set(db, value);
    }
    return value;
  };
}

/**
 * A patient by id, prepared once per executor (the database's read lanes, or a transaction that reads
 * several): the cache-aside load of a patient is the hottest statement there is, and building its SQL
 * and planning it again on every call cost more than running it. Same tenant condition as `where`, the
 * organization bound on each call.
 */
const findStatement = perExecutor((db) =>
  db
    .select()
    .from(patients)
    .where(and(eq(patients.organizationId, sql.placeholder('organizationId')), eq(patients.id, sql.placeholder('id'))))
    .prepare('patients_find'),
);

/**
 * A registration's INSERT, prepared once per executor like `find`: a transaction's executor is its
 * connection's (database.ts), so drizzle builds the statement once per connection rather than for
 * every registration, where it was about a tenth of the server's CPU per registration, and
 * PostgreSQL parses it once. The jsonb values are bound as JSON text (`jsonText`): through a column's
 * placeholder, drizzle would write a null as the JSON `null` rather than SQL NULL.
 */
const asIs = (name: string) => sql`${sql.placeholder(name)}`;
const jsonText = (value: unknown) => (value === null ? null : JSON.stringify(value));
const insertStatement = perExecutor((db) =>
  db
    .insert(patients)
    .values({
      organizationId: sql.placeholder('organizationId'),
      mrn: sql.placeholder('mrn'),
      givenName: sql.placeholder('givenName'),
      familyName: sql.placeholder('familyName'),
      searchGiven: sql.placeholder('searchGiven'),
      searchFamily: sql.placeholder('searchFamily'),
      birthDate: sql.placeholder('birthDate'),
      sex: sql.placeholder('sex'),
      phone: sql.placeholder('phone'),
      phoneDigits: sql.placeholder('phoneDigits'),
      email: sql.placeholder('email'),
      address: asIs('address'),
      emergencyContact: asIs('emergencyContact'),
      allergies: asIs('allergies'),
      primaryHospitalId: sql.placeholder('primaryHospitalId'),
      createdAt: sql.placeholder('createdAt'),
      updatedAt: sql.placeholder('updatedAt'),
    })
    .onConflictDoNothing({ target: [patients.organizationId, patients.mrn] })
    .returning()
    .prepare('patients_insert'),
);

/** Prepared searches, per executor and shape (`preparedShape`). */
const searchStatements = perExecutor(
  () => new Map<string, { execute: (values: Record<string, unknown>) => Promise<PatientSummaryRow[]> }>(),
);

/** All SQL on one organization's patients and its MRN counter. */
export class PatientsRepository extends TenantRepository {
  /**
   * The list query, not yet run (so a test can EXPLAIN exactly this SQL): sorted by (family, given,
   * id) in the C collation, after `cursor`, `limit + 1` rows. `bind` makes each value a parameter
   * (by default) or a named placeholder (a prepared statement).
   */
  searchQuery(filter: PatientFilter, limit: number, cursor: NameCursor | undefined, bind: Bind = boundInline) {
    return this.buildSearch({ words: searchWords(filter.q), filter, limit, cursor }, bind);
  }

  search(filter: PatientFilter, limit: number, cursor: NameCursor | undefined): Promise<PatientSummaryRow[]> {
    const terms: SearchTerms = { words: searchWords(filter.q), filter, limit, cursor };
    const shape = preparedShape(terms);
    if (shape === undefined) return this.buildSearch(terms, boundInline);
    const db = readLanesFor(this.db);
    const statements = searchStatements(db);
    const values: Record<string, string | number> = {};
    const collect: Bind = (name, value) => {
      values[name] = value;
      return sql.placeholder(name);
    };
    let statement = statements.get(shape);
    if (!statement) {
      const query = this.buildSearch(terms, collect, db);
      // Shared by every organization: a value written into its text (not a placeholder) would be the
      // first caller's for everyone. Checked once per shape.
      if (query.toSQL().params.some((param) => !(param instanceof Placeholder))) {
        throw new Error(`the prepared search ${shape} has a value that is not a placeholder`);
      }
      statement = query.prepare(shape);
      statements.set(shape, statement);
    } else {
      this.searchValues(terms, collect);
    }
    return statement.execute(values);
  }

  /** The values of a search's placeholders, as `buildSearch` binds them, without building the query. */
  private searchValues(terms: SearchTerms, bind: Bind): void {
    namePrefixBranches(terms.words, bind, leadsWithGivenName(terms));
    this.searchFilters(terms, bind);
    bind('limit', terms.limit + 1);
  }

  private searchFilters({ filter, cursor }: SearchTerms, bind: Bind): SQL {
    const p = patients;
    const org = bind('organizationId', this.organizationId);
    return and(
      eq(p.organizationId, org),
      eq(p.status, bind('status', filter.status)),
      filter.birthDate === undefined ? undefined : eq(p.birthDate, bind('birthDate', filter.birthDate)),
      filter.mrn === undefined ? undefined : eq(p.mrn, bind('mrn', filter.mrn)),
      filter.phoneDigits === undefined ? undefined : eq(p.phoneDigits, bind('phoneDigits', filter.phoneDigits)),
      cursor
        ? sql`(${family}, ${given}, ${p.id}) > (select c.search_family collate "C", c.search_given collate "C", c.id from patients c where c.organization_id = ${org} and c.id = ${bind('cursorId', cursor.id)})`
        : undefined,
    )!;
  }

  private buildSearch(terms: SearchTerms, bind: Bind, db: Executor = this.db) {
    const p = patients;
    const order = [asc(family), asc(given), asc(p.id)];
    const branches = namePrefixBranches(terms.words, bind, leadsWithGivenName(terms));
    const filters = this.searchFilters(terms, bind);
    const limit = bind('limit', terms.limit + 1);
    // A page's columns, and the names it is sorted by.
    const listed = { ...summaryColumns, searchFamily: p.searchFamily, searchGiven: p.searchGiven };
    const firstRows = (where: SQL) =>
      db
        .select(listed)
        .from(p)
        .where(where)
        .orderBy(...order)
        .limit(limit);
    if (terms.words.length === 0)
      return db
        .select(summaryColumns)
        .from(p)
        .where(filters)
        .orderBy(...order)
        .limit(limit);
    // A name prefix: the first rows of each way of matching, each read in name order from its index (the
    // family range from the family index, the given range from the given-name index, which leads with
    // the prefix's first three characters), merged by PostgreSQL (Merge Append) up to the page: it reads
    // about a page of rows, where it sorted every given name with the prefix (4,284 index entries for
    // "mar" among the bench's 100,000 patients) to find the page's first. A patient whom several ways
    // match is kept by the first of them: the later ones drop such patients from their first rows (a
    // patient of the page is among the first rows of the first way that matches them), not while reading,
    // which would walk past every match of the earlier ways.
    const firstOf = branches.map(({ condition, sortedFromIndex }, i) => {
      const where = and(filters, condition)!;
      // A short given-name prefix ("li") is a range of the index that is not in name order: its matches,
      // maybe thousands, are sorted from index entries alone, and only the first are read by key.
      const ids = sortedFromIndex
        ? db
            .select({ id: p.id })
            .from(p)
            .where(where)
            .orderBy(...order)
            .limit(limit)
        : null;
      const rows = firstRows(
        ids ? and(eq(p.organizationId, bind('organizationId', this.organizationId)), inArray(p.id, ids))! : where,
      );
      if (i === 0) return rows;
      const earlier = branches.slice(0, i).map((before) => not(before.condition));
      return db
        .select(listed)
        .from(rows.as(getTableName(p)))
        .where(and(...earlier));
    });
    const [first, second, ...rest] = firstOf;
    // The union is named as the table, so that drizzle takes the table's own columns as its columns (in
    // the select list and the order): each row is then decoded by the columns themselves rather than
    // through the subquery's proxies of them, which cost about a third of a search's server time.
    const matches = unionAll(first!, second!, ...rest).as(getTableName(p));
    return db
      .select(summaryColumns)
      .from(matches)
      .orderBy(...order)
      .limit(limit);
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
    const [row] = await findStatement(readLanesFor(this.db)).execute({ organizationId: this.organizationId, id });
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
  async insert(values: Registration): Promise<PatientRow | undefined> {
    const [row] = await insertStatement(this.db).execute({
      ...values,
      organizationId: this.organizationId,
      address: jsonText(values.address),
      emergencyContact: jsonText(values.emergencyContact),
      allergies: jsonText(values.allergies),
    });
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
