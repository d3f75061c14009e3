import { count } from 'drizzle-orm';
import type { Db, Executor } from '../db/database.js';
import type { Auth } from './auth.js';
import { accounts, users } from './auth.schema.js';

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

/** Better Auth's hash of a password, after the length checks its own endpoints make. */
export async function hashPassword(auth: Auth, password: string): Promise<string> {
  const { password: hasher } = await auth.$context;
  const { minPasswordLength: min, maxPasswordLength: max } = hasher.config;
  if (password.length < min || password.length > max) {
    throw new Error(`a password must have ${min} to ${max} characters`);
  }
  return hasher.hash(password);
}

export interface NewAccount {
  email: string;
  name: string;
  /** From hashPassword. */
  passwordHash: string;
  /** Platform role: "admin" for a platform admin, "user" (the default) for everyone else. */
  platformRole?: 'admin' | 'user';
}

/**
 * Creates email + password accounts with the rows Better Auth's admin `createUser` writes (a user
 * and a "credential" account holding the hash), but on `executor`, so that seeding several accounts
 * can be one transaction. Better Auth's database hooks for user creation do not run (Wardline has
 * none). With `skipExisting`, an email that already has an account is left alone instead of failing.
 * Returns the new user ids by lower-cased email.
 */
export async function insertPasswordAccounts(
  executor: Executor,
  people: NewAccount[],
  options: { skipExisting?: boolean } = {},
): Promise<Map<string, string>> {
  if (people.length === 0) return new Map();
  const byEmail = new Map(people.map((p) => [p.email.toLowerCase(), p]));
  const insert = executor
    .insert(users)
    .values([...byEmail].map(([email, p]) => ({ email, name: p.name, role: p.platformRole ?? 'user' })));
  const created = await (options.skipExisting ? insert.onConflictDoNothing({ target: users.email }) : insert).returning(
    { id: users.id, email: users.email },
  );
  if (created.length > 0) {
    await executor.insert(accounts).values(
      created.map((u) => ({
        userId: u.id,
        accountId: u.id,
        providerId: 'credential',
        password: byEmail.get(u.email)!.passwordHash,
      })),
    );
  }
  return new Map(created.map((u) => [u.email, u.id]));
}

/**
 * Creates a platform admin unless that email already has an account (also when several instances
 * start at once on an empty database). Returns whether it created one.
 */
export async function ensurePlatformAdmin(
  auth: Auth,
  executor: Executor,
  account: { email: string; password: string; name?: string },
): Promise<boolean> {
  const passwordHash = await hashPassword(auth, account.password);
  const created = await insertPasswordAccounts(
    executor,
    [{ email: account.email, name: account.name ?? 'Platform admin', passwordHash, platformRole: 'admin' }],
    { skipExisting: true },
  );
  return created.size > 0;
}
