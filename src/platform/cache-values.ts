/**
 * Values kept in the cache, and the cache-aside reads that make them. Redis holds them as JSON text,
 * so a cached value is what survives `JSON.stringify` unchanged: no `Date`, `Map` or class instance,
 * dates as ISO strings.
 */
import type { Work } from './db/unit-of-work.js';
import { MAX_PAGE_LIMIT, toPage } from './http/pagination.js';

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
 * How many rows of a list are cached: the largest page, so that one entry answers the first page of
 * any size, whatever `limit` a client sends, and a change invalidates one key per list.
 */
export const LIST_HEAD_ROWS = MAX_PAGE_LIMIT;

/** The first rows of a list, in page order, as cached; `complete` when the list has no more. */
export interface ListHead<T> {
  rows: T[];
  complete: boolean;
}

/** Where and for how long a cache-aside read keeps its value. */
export interface CacheSlot {
  namespace: string;
  key: string;
  ttl: number;
}

/**
 * A record from the cache, or loaded (then cached); undefined when there is none, which is not
 * cached. No grace: an expired record is loaded again, never served old.
 */
export async function cachedStamped<T extends Stamps>(
  work: Work,
  slot: CacheSlot,
  load: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const cached = await work.cached(slot.namespace, {
    key: slot.key,
    ttl: slot.ttl,
    factory: async () => {
      const record = await load();
      return record ? toCachedStamped(record) : null;
    },
  });
  return cached ? fromCachedStamped<T>(cached) : undefined;
}

/**
 * The head of a list from the cache, or loaded (then cached). `load` reads the list's first page of
 * `LIST_HEAD_ROWS`, unfiltered: with the extra row a repository reads, it tells whether there are more.
 */
export async function cachedListHead<T extends Stamps>(
  work: Work,
  slot: CacheSlot,
  load: (limit: number) => Promise<T[]>,
): Promise<ListHead<T>> {
  const head = await work.cached(slot.namespace, {
    key: slot.key,
    ttl: slot.ttl,
    factory: async (): Promise<ListHead<CachedStamped<T>>> => {
      const rows = await load(LIST_HEAD_ROWS);
      return {
        rows: rows.slice(0, LIST_HEAD_ROWS).map((row) => toCachedStamped(row)),
        complete: rows.length <= LIST_HEAD_ROWS,
      };
    },
  });
  return { rows: head.rows.map((row) => fromCachedStamped<T>(row)), complete: head.complete };
}

/**
 * The rows (`limit + 1` at most, as `toPage` wants them) of the first page of a list whose rows
 * `keep` selects, taken from its head; undefined when the head cannot tell (the page needs more
 * rows than it holds).
 */
export function firstPageRows<T>(head: ListHead<T>, limit: number, keep?: (row: T) => boolean): T[] | undefined {
  const rows = keep ? head.rows.filter(keep) : head.rows;
  return rows.length > limit || head.complete ? rows.slice(0, limit + 1) : undefined;
}

interface Listed {
  id: string;
  createdAt: Date;
  active: boolean;
}

const position = (record: Listed) => ({ sort: record.createdAt.toISOString(), id: record.id });

/**
 * A page of a list sorted by (createdAt, id), optionally only active or deactivated records: the
 * first page from the list's cached head when there is one (`head` null: this query is not served
 * from it, e.g. a search) and it can answer; any other page from the database (`read`).
 */
export async function pageFromHead<T extends Listed>(
  query: { limit: number; cursor?: string; active?: boolean },
  head: (() => Promise<ListHead<T>>) | null,
  read: () => Promise<T[]>,
): Promise<{ data: T[]; nextCursor: string | null }> {
  const keep = query.active === undefined ? undefined : (record: T) => record.active === query.active;
  const cached = head && query.cursor === undefined ? firstPageRows(await head(), query.limit, keep) : undefined;
  return toPage(cached ?? (await read()), query.limit, position, (record) => record);
}
