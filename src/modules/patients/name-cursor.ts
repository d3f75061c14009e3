import { AppError } from '../../platform/http/errors.js';
import { RecordId } from '../../platform/http/ids.js';

/**
 * A position in a patient list sorted by (search_family, search_given, id): the sort key of the
 * last row of a page, so the next page starts strictly after it whatever was inserted meanwhile.
 */
export interface NameCursor {
  family: string;
  given: string;
  id: string;
}

const MAX_PART = 400;

export function encodeNameCursor(cursor: NameCursor): string {
  return Buffer.from(JSON.stringify([cursor.family, cursor.given, cursor.id])).toString('base64url');
}

export function decodeNameCursor(value: string | undefined): NameCursor | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 3 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      parsed[0].length <= MAX_PART &&
      parsed[1].length <= MAX_PART &&
      !parsed[0].includes('\0') &&
      !parsed[1].includes('\0') &&
      typeof parsed[2] === 'string' &&
      RecordId.safeParse(parsed[2]).success
    ) {
      return { family: parsed[0], given: parsed[1], id: parsed[2] };
    }
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_FAILED', 'the cursor is not valid', [
    { path: 'querystring.cursor', message: 'malformed cursor' },
  ]);
}

/** `limit + 1` rows sorted by name into a page, like toPage (the extra row only says there is more). */
export function toNamePage<Row extends { searchFamily: string; searchGiven: string; id: string }, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
): { data: Item[]; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(map),
    nextCursor:
      hasMore && last ? encodeNameCursor({ family: last.searchFamily, given: last.searchGiven, id: last.id }) : null,
  };
}
