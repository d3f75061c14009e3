import { count, eq } from 'drizzle-orm';
import type { Db, Executor } from '../db/database.js';
import type { Auth } from './auth.js';
import { accounts, users } from './auth.schema.js';

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

export interface NewAccount {
  email: string;
  name: string;
  /** Platform role: "admin" for a platform admin, "user" for everyone else. */
  platformRole?: 'admin' | 'user';
}

/**
 * Creates email + password accounts the way Better Auth's admin `createUser` does (a user row
 * and a "credential" account holding Better Auth's own password hash), but on `executor`, so
 * that seeding several accounts can be one transaction. Returns the new ids in input order.
 */
export async function insertPasswordAccounts(
  auth: Auth,
  executor: Executor,
  people: NewAccount[],
  password: string,
): Promise<string[]> {
  if (people.length === 0) return [];
  const { password: hasher } = await auth.$context;
  const hashes = await Promise.all(people.map(() => hasher.hash(password)));
  const created = await executor
    .insert(users)
    .values(people.map((p) => ({ email: p.email.toLowerCase(), name: p.name, role: p.platformRole ?? 'user' })))
    .returning({ id: users.id });
  await executor
    .insert(accounts)
    .values(created.map((u, i) => ({ userId: u.id, accountId: u.id, providerId: 'credential', password: hashes[i] })));
  return created.map((u) => u.id);
}

/** Creates a platform admin unless that email already has an account. Returns whether it created one. */
export async function ensurePlatformAdmin(
  auth: Auth,
  executor: Executor,
  account: { email: string; password: string; name?: string },
): Promise<boolean> {
  const email = account.email.toLowerCase();
  const existing = await executor.select({ id: users.id }).from(users).where(eq(users.email, email));
  if (existing.length > 0) return false;
  await insertPasswordAccounts(
    auth,
    executor,
    [{ email, name: account.name ?? 'Platform admin', platformRole: 'admin' }],
    account.password,
  );
  return true;
}
