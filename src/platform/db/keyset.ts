import { and, eq, gt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Cursor } from '../http/pagination.js';

/** Rows after a keyset cursor, for lists ordered by (timestamp column, id column) ascending. */
export function afterCursor(sortColumn: PgColumn, idColumn: PgColumn, cursor: Cursor | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const at = new Date(cursor.sort);
  return or(gt(sortColumn, at), and(eq(sortColumn, at), gt(idColumn, cursor.id)));
}
