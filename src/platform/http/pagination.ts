import { z } from 'zod';
import { AppError } from './errors.js';
import { RecordId } from './ids.js';

/** The largest page a list route answers. */
export const MAX_PAGE_LIMIT = 100;

/** Query parameters of every list route. */
export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(25)
    .describe(`Items per page (1-${MAX_PAGE_LIMIT}).`),
  cursor: z.string().max(512).optional().describe('The nextCursor of the previous page.'),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** The list envelope: `{ data, nextCursor }`; nextCursor is null on the last page. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

/** A keyset position: the sort value and id of the last row of a page. */
export interface Cursor {
  sort: string;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.id])).toString('base64url');
}

/** Only what encodeCursor writes: `Date#toISOString()` of a date PostgreSQL can store (years 0001-9999). */
function isCanonicalTimestamp(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.toISOString() === value;
}

export function decodeCursor(value: string | undefined): Cursor | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      isCanonicalTimestamp(parsed[0]) &&
      typeof parsed[1] === 'string' &&
      RecordId.safeParse(parsed[1]).success
    ) {
      return { sort: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_FAILED', 'the cursor is not valid', [
    { path: 'querystring.cursor', message: 'malformed cursor' },
  ]);
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only tells that another page exists.
 */
export function toPage<Row, Item>(
  rows: Row[],
  limit: number,
  position: (row: Row) => Cursor,
  map: (row: Row) => Item,
): { data: Item[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { data: pageRows.map(map), nextCursor: hasMore && last ? encodeCursor(position(last)) : null };
}
