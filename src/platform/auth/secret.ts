/**
 * AUTH_SECRET signs session cookies and seals what Better Auth keeps secret in the database (the
 * JWKS private keys behind /api/auth/token, two-factor secrets and backup codes). A new secret
 * therefore has to be a deliberate, complete change, not half of one: cookies failing while bearer
 * tokens work and the token route answering 500.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { symmetricDecrypt, symmetricEncrypt } from 'better-auth/crypto';
import { eq, inArray } from 'drizzle-orm';
import { type Config, ConfigError } from '../../config.js';
import type { Db, Executor } from '../db/database.js';
import { authSecretState, jwks, sessions, twoFactors, users, verifications } from './auth.schema.js';

/**
 * AUTH_SECRET, or outside production one kept in DATA_DIR/.auth-secret (made on first start), so a
 * restart, on PGlite or PostgreSQL, keeps sessions and sealed secrets working.
 */
export function resolveAuthSecret(config: Config, warn: (message: string) => void = console.warn): string {
  if (config.AUTH_SECRET) return config.AUTH_SECRET;
  const file = join(config.DATA_DIR, '.auth-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length < 32) throw new ConfigError([`AUTH_SECRET: ${file} is damaged (under 32 characters); delete it`]);
    return kept;
  }
  mkdirSync(config.DATA_DIR, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  if (!config.embedded)
    warn(`AUTH_SECRET is not set: made one and kept it in ${file}. Set AUTH_SECRET for production.`);
  return secret;
}

/** Safe to store: it tells whether two secrets are the same, not what either is. */
export function fingerprintOf(secret: string): string {
  return createHmac('sha256', secret).update('wardline auth-secret fingerprint v1').digest('hex');
}

export interface SecretChange {
  /** False when the secret is the one the database was sealed with (or the database is new). */
  changed: boolean;
  /** Session tokens ended: every session, since its cookie was signed with the old secret. */
  endedSessionTokens: string[];
  /** Sealed values that a previous secret could open, sealed again with the current one. */
  rewrapped: { jwks: number; twoFactors: number };
  /** Sealed values nothing could open, deleted: JWKS keys (a new one is made on demand) and two-factor enrolments. */
  discarded: { jwks: number; twoFactors: number };
}

async function open(data: string, keys: readonly string[]): Promise<{ plain: string; byCurrent: boolean } | null> {
  for (const [i, key] of keys.entries()) {
    try {
      return { plain: await symmetricDecrypt({ key, data }), byCurrent: i === 0 };
    } catch {
      // not sealed with this one
    }
  }
  return null;
}

/**
 * Called at start-up, before any request. When AUTH_SECRET differs from the one the database was
 * sealed with: values that one of `previous` (AUTH_SECRET_PREVIOUS) can open are sealed again with the
 * current secret; JWKS keys nothing can open are deleted, so /api/auth/token makes a new one (JWTs
 * signed with the old keys stop verifying); two-factor enrolments nothing can open are ended (those
 * people sign in with their password and enrol again); every session and pending two-factor
 * challenge ends, bearer tokens included, so that cookies and tokens agree. One transaction, under a
 * row lock, so that instances starting together do it once.
 */
export async function reconcileAuthSecret(db: Db, current: string, previous: readonly string[]): Promise<SecretChange> {
  const fingerprint = fingerprintOf(current);
  const unchanged: SecretChange = {
    changed: false,
    endedSessionTokens: [],
    rewrapped: { jwks: 0, twoFactors: 0 },
    discarded: { jwks: 0, twoFactors: 0 },
  };
  return db.transaction(async (tx) => {
    await tx.insert(authSecretState).values({ id: 1, fingerprint }).onConflictDoNothing();
    const [state] = await tx.select().from(authSecretState).where(eq(authSecretState.id, 1)).for('update');
    if (!state || state.fingerprint === fingerprint) return unchanged;

    const keys = [current, ...previous];
    const change: SecretChange = { ...unchanged, changed: true };
    await resealJwks(tx, keys, change);
    await resealTwoFactors(tx, keys, change);
    const ended = await tx.delete(sessions).returning({ token: sessions.token });
    change.endedSessionTokens = ended.map((row) => row.token);
    await tx.delete(verifications);
    await tx.update(authSecretState).set({ fingerprint, changedAt: new Date() }).where(eq(authSecretState.id, 1));
    return change;
  });
}

async function resealJwks(tx: Executor, keys: readonly string[], change: SecretChange): Promise<void> {
  const discard: string[] = [];
  for (const row of await tx.select({ id: jwks.id, privateKey: jwks.privateKey }).from(jwks)) {
    const opened = await open(JSON.parse(row.privateKey) as string, keys);
    if (!opened) discard.push(row.id);
    else if (!opened.byCurrent) {
      const sealed = await symmetricEncrypt({ key: keys[0]!, data: opened.plain });
      await tx
        .update(jwks)
        .set({ privateKey: JSON.stringify(sealed) })
        .where(eq(jwks.id, row.id));
      change.rewrapped.jwks++;
    }
  }
  if (discard.length) await tx.delete(jwks).where(inArray(jwks.id, discard));
  change.discarded.jwks = discard.length;
}

async function resealTwoFactors(tx: Executor, keys: readonly string[], change: SecretChange): Promise<void> {
  const rows = await tx
    .select({ id: twoFactors.id, userId: twoFactors.userId, secret: twoFactors.secret, codes: twoFactors.backupCodes })
    .from(twoFactors);
  const ended: { id: string; userId: string }[] = [];
  for (const row of rows) {
    const [secret, codes] = await Promise.all([open(row.secret, keys), open(row.codes, keys)]);
    if (!secret || !codes) {
      ended.push(row);
    } else if (!secret.byCurrent || !codes.byCurrent) {
      const [sealedSecret, sealedCodes] = await Promise.all([
        symmetricEncrypt({ key: keys[0]!, data: secret.plain }),
        symmetricEncrypt({ key: keys[0]!, data: codes.plain }),
      ]);
      await tx
        .update(twoFactors)
        .set({ secret: sealedSecret, backupCodes: sealedCodes })
        .where(eq(twoFactors.id, row.id));
      change.rewrapped.twoFactors++;
    }
  }
  if (ended.length) {
    await tx.delete(twoFactors).where(
      inArray(
        twoFactors.id,
        ended.map((row) => row.id),
      ),
    );
    await tx
      .update(users)
      .set({ twoFactorEnabled: false })
      .where(
        inArray(
          users.id,
          ended.map((row) => row.userId),
        ),
      );
  }
  change.discarded.twoFactors = ended.length;
}

/** What a change of secret did, for the start-up log. */
export function describeSecretChange(change: SecretChange): string {
  return (
    `AUTH_SECRET changed: ended ${change.endedSessionTokens.length} sessions (cookies and bearer tokens); ` +
    `sealed again with the new secret ${change.rewrapped.jwks} token-signing keys and ` +
    `${change.rewrapped.twoFactors} two-factor enrolments; ` +
    `discarded ${change.discarded.jwks} token-signing keys (a new one is made on demand) and ended ` +
    `${change.discarded.twoFactors} two-factor enrolments that no known secret could open` +
    (change.discarded.twoFactors > 0 ? ' (set AUTH_SECRET_PREVIOUS to the old secret to keep them next time)' : '')
  );
}
