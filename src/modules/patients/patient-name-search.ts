/**
 * The SQL of a patient name search's conditions: how a name prefix's words become ways of matching, each an
 * index range of patients_family_name_idx or patients_given_name_idx, and which searches run prepared.
 * `PatientsRepository.search` puts them together.
 */
import { and, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { NameCursor } from './name-cursor.js';
import { foldForSearch } from './patient-names.js';
import { patients } from './patients.schema.js';
import type { PatientStatus } from './patients.shapes.js';

/** What a list may filter on; every filter is an equality or a prefix some index serves. */
export interface PatientFilter {
  status: PatientStatus;
  /** A name prefix as typed; folded here exactly as the stored search columns are. */
  q?: string;
  birthDate?: string;
  mrn?: string;
  phoneDigits?: string;
}

// Exactly the expressions of patients_family_name_idx and patients_given_name_idx: a LIKE prefix on
// them becomes an index range only in the C collation, and the sort order is theirs too.
export const family = sql`${patients.searchFamily} collate "C"`;
export const given = sql`${patients.searchGiven} collate "C"`;
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
export type Bind = <V extends string | number>(name: string, value: V) => V | Placeholder;

export const boundInline: Bind = (_name, value) => value;

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
export function namePrefixBranches(words: string[], bind: Bind, lead: boolean): NameBranch[] {
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
export const leadsWithGivenName = ({ filter }: SearchTerms) =>
  filter.birthDate === undefined && filter.mrn === undefined && filter.phoneDigits === undefined;
