import { count, eq } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import type { Auth } from './auth.js';
import { users } from './auth.schema.js';

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

/** Creates a platform admin unless that email already has an account. Returns whether it created one. */
export async function ensurePlatformAdmin(
  auth: Auth,
  db: Db,
  account: { email: string; password: string; name?: string },
): Promise<boolean> {
  const existing = await db.select({ id: users.id }).from(users).where(eq(users.email, account.email.toLowerCase()));
  if (existing.length > 0) return false;
  await auth.api.createUser({
    body: { email: account.email, password: account.password, name: account.name ?? 'Platform admin', role: 'admin' },
  });
  return true;
}
