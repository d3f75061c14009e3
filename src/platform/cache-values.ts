/**
 * Shapes for values kept in the cache. Redis holds them as JSON text, so a cached value is what
 * survives `JSON.stringify` unchanged: no `Date`, `Map` or class instance, dates as ISO strings.
 */
import { MAX_PAGE_LIMIT } from './http/pagination.js';

interface Stamps {
  createdAt: Date;
  updatedAt: Date;
}

/** A record whose only dates are `createdAt` and `updatedAt`, as cached (ISO strings). */
export type CachedStamped<T extends Stamps> = Omit<T, keyof Stamps> & { createdAt: string; updatedAt: string };

export const toCachedStamped = <T extends Stamps>(record: T): CachedStamped<T> => ({
  ...record,
  createdAt: record.createdAt.toISOString(),
  updatedAt: record.updatedAt.toISOString(),
});

export const fromCachedStamped = <T extends Stamps>(cached: CachedStamped<T>): T =>
  ({ ...cached, createdAt: new Date(cached.createdAt), updatedAt: new Date(cached.updatedAt) }) as unknown as T;

/**
 * How many rows of a list are cached: the largest page (`limit` 1-100), so that one entry answers
 * the first page of any size, whatever `limit` a client sends, and a change invalidates one key.
 */
export const LIST_HEAD_ROWS = MAX_PAGE_LIMIT;

/** The first rows of a list, in page order, as cached; `complete` when the list has no more. */
export interface ListHead<T> {
  rows: T[];
  complete: boolean;
}

/** A list head from what a repository returned for `limit: LIST_HEAD_ROWS` (it reads one row more). */
export function listHead<Row, T>(rows: Row[], map: (row: Row) => T): ListHead<T> {
  return { rows: rows.slice(0, LIST_HEAD_ROWS).map(map), complete: rows.length <= LIST_HEAD_ROWS };
}

/**
 * The rows (`limit + 1` at most, as `toPage` wants them) of the first page of a list whose rows
 * `keep` selects, taken from its cached head; undefined when the head cannot tell (more rows are
 * needed than it holds), and the page is then read from the database.
 */
export function firstPageRows<T>(head: ListHead<T>, limit: number, keep?: (row: T) => boolean): T[] | undefined {
  const rows = keep ? head.rows.filter(keep) : head.rows;
  return rows.length > limit || head.complete ? rows.slice(0, limit + 1) : undefined;
}
