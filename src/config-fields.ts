import { isIP } from 'node:net';
import { z } from 'zod';

// The kinds of value Wardline's settings take (config.ts): URLs, flags, keys, passwords.

export const flag = z.enum(['0', '1', 'true', 'false']).transform((value) => value === '1' || value === 'true');

export const postgresUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1;
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// URL that names a database');

export const redisUrl = z.string().refine((value) => {
  try {
    const { protocol } = new URL(value);
    return protocol === 'redis:' || protocol === 'rediss:';
  } catch {
    return false;
  }
}, 'must be a redis:// or rediss:// URL');

export function isIpOrCidr(value: string): boolean {
  const [address = '', prefix] = value.split('/');
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

export const smtpUrl = z.string().refine((value) => {
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === 'smtp:' || protocol === 'smtps:') && hostname !== '';
  } catch {
    return false;
  }
}, 'must be an smtp:// or smtps:// URL (smtp://user:pass@host:587)');

/** A VAPID key as `npx web-push generate-vapid-keys` prints it: base64url, `bytes` long decoded. */
export const vapidKey = (bytes: number, which: string) =>
  z
    .string()
    .refine(
      (value) => /^[A-Za-z0-9_-]+$/.test(value) && Buffer.from(value, 'base64url').length === bytes,
      `must be the ${which} key of a P-256 pair in base64url (npx web-push generate-vapid-keys)`,
    );

/** Password lengths Better Auth is configured to accept (auth.ts), so a configured password can sign in. */
export const PASSWORD_LENGTH = { min: 12, max: 128 } as const;
export const password = z
  .string()
  .min(PASSWORD_LENGTH.min, `must be at least ${PASSWORD_LENGTH.min} characters`)
  .max(PASSWORD_LENGTH.max, `must be at most ${PASSWORD_LENGTH.max} characters`);
