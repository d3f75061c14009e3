import { and, asc, eq, getTableName, inArray, not, Placeholder, type SQL, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { type Executor, readLanesFor } from '../../platform/db/database.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { NameCursor } from './name-cursor.js';
import {
  type Bind,
  boundInline,
  family,
  given,
  leadsWithGivenName,
  namePrefixBranches,
  type PatientFilter,
  preparedShape,
  type SearchTerms,
  searchWords,
} from './patient-name-search.js';
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
export type PatientChanges = Partial<Omit<NewPatient, 'id' | 'mrn' | 'createdAt'>>;

/** The name lookup of `GET /patients/lookup`: whole folded names (not prefixes) and a second identifier. */
export interface LookupKeys {
  mrn?: string;
  familyName?: string;
  givenName?: string;
  birthDate?: string;
}

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
 * placeholder, drizzle would write a null as the JSON `null` rather than SQL NULL. Nothing is read
 * back: the service made every value (a taken MRN is a unique violation, `patients_mrn_idx`).
 */
const asIs = (name: string) => sql`${sql.placeholder(name)}`;
const jsonText = (value: unknown) => (value === null ? null : JSON.stringify(value));
const insertStatement = perExecutor((db) =>
  db
    .insert(patients)
    .values({
      id: sql.placeholder('id'),
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
      status: sql.placeholder('status'),
      createdAt: sql.placeholder('createdAt'),
      updatedAt: sql.placeholder('updatedAt'),
    })
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

  /** Inserts the patient (of this repository's organization); a taken MRN fails it (23505, `patients_mrn_idx`). */
  async insert(row: PatientRow): Promise<void> {
    await insertStatement(this.db).execute({
      ...row,
      organizationId: this.organizationId,
      address: jsonText(row.address),
      emergencyContact: jsonText(row.emergencyContact),
      allergies: jsonText(row.allergies),
    });
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
