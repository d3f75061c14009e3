/**
 * The VAPID key pair identifies this server to browsers' push services. A browser subscribes with the
 * public key, and the push service accepts messages only when they are signed with the matching
 * private key: a new pair silently strands every existing subscription. So, like AUTH_SECRET
 * (src/platform/auth/secret.ts), a pair made outside production is kept in DATA_DIR, not made anew
 * at each start.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import webpush from 'web-push';
import { type Config, ConfigError, envSchema } from '../../../config.js';

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

export type VapidKeySource =
  | { keys: VapidKeys; from: 'environment' | 'memory' }
  | { keys: VapidKeys; from: 'file' | 'generated'; file: string }
  | { keys: null; reason: string };

type Settings = Pick<Config, 'NODE_ENV' | 'DATA_DIR' | 'VAPID_PUBLIC_KEY' | 'VAPID_PRIVATE_KEY'>;

const VAPID_FILE = '.vapid-keys.json';

function isKeyPair(value: unknown): value is VapidKeys {
  const pair = value as Partial<VapidKeys> | null;
  return (
    envSchema.shape.VAPID_PUBLIC_KEY.safeParse(pair?.publicKey).data !== undefined &&
    envSchema.shape.VAPID_PRIVATE_KEY.safeParse(pair?.privateKey).data !== undefined
  );
}

function readKept(file: string): VapidKeys {
  let kept: unknown;
  try {
    kept = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    kept = null;
  }
  if (!isKeyPair(kept)) throw new ConfigError([`VAPID_PUBLIC_KEY: ${file} is damaged; delete it`]);
  return { publicKey: kept.publicKey, privateKey: kept.privateKey };
}

/**
 * VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY; or, outside production, the pair kept in
 * DATA_DIR/.vapid-keys.json (made on first use, mode 0600); or, in production without them, none
 * and the reason. Two processes starting together on one DATA_DIR end up with the same pair.
 */
export function resolveVapidKeys(config: Settings): VapidKeySource {
  const { VAPID_PUBLIC_KEY: publicKey, VAPID_PRIVATE_KEY: privateKey } = config;
  if (publicKey && privateKey) return { keys: { publicKey, privateKey }, from: 'environment' };
  if (publicKey || privateKey) return { keys: null, reason: 'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together' };
  if (config.NODE_ENV === 'production')
    return { keys: null, reason: 'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are required when NODE_ENV=production' };

  // An in-memory database (tests) has no folder to keep a pair in: one for this process only.
  if (config.DATA_DIR.startsWith('memory://')) return { keys: webpush.generateVAPIDKeys(), from: 'memory' };
  const file = join(config.DATA_DIR, VAPID_FILE);
  if (existsSync(file)) return { keys: readKept(file), from: 'file', file };
  mkdirSync(config.DATA_DIR, { recursive: true });
  const made = webpush.generateVAPIDKeys();
  try {
    // 'wx': only if no file is there yet, so a pair another process just kept is not replaced.
    writeFileSync(file, `${JSON.stringify(made)}\n`, { mode: 0o600, flag: 'wx' });
    return { keys: made, from: 'generated', file };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    return { keys: readKept(file), from: 'file', file };
  }
}
