import { AppError } from '../../platform/http/errors.js';
import { RecordId } from '../../platform/http/ids.js';

/**
 * A position in a patient list sorted by (search_family, search_given, id): the id of the last row
 * of a page. The query finds that row's sort key itself, so the next page starts strictly after it
 * whatever was inserted meanwhile, and the cursor, which travels in URLs (and so in proxy logs and
 * browser history), says nothing about anyone's name.
 */
export interface NameCursor {
  id: string;
}

export function encodeNameCursor(cursor: NameCursor): string {
  return Buffer.from(`p:${cursor.id}`).toString('base64url');
}

export function decodeNameCursor(value: string | undefined): NameCursor | undefined {
  if (value === undefined) return undefined;
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  const id = decoded.startsWith('p:') ? decoded.slice(2) : '';
  if (RecordId.safeParse(id).success) return { id };
  throw new AppError('VALIDATION_FAILED', 'the cursor is not valid', [
    { path: 'querystring.cursor', message: 'malformed cursor' },
  ]);
}

/** `limit + 1` rows sorted by name into a page, like toPage (the extra row only says there is more). */
export function toNamePage<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
): { data: Item[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { data: pageRows.map(map), nextCursor: hasMore && last ? encodeNameCursor({ id: last.id }) : null };
}
