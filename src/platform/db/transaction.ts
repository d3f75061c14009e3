import type { Db, Tx } from './database.js';

/** Runs `work` in one transaction: every repository call inside commits or rolls back together. */
export function inTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(work);
}
