/**
 * The real server as a child process, for tests that kill it (SIGKILL) and start it again on the same
 * storage: a fresh PGlite folder or a scratch PostgreSQL database (with Redis keys under their own
 * prefix), a free port, readiness, and sign-in as the demo accounts. What they leave behind is undone
 * by `cleanUp()` (call it in afterAll).
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { expect, inject } from 'vitest';
import { connectRedis, whenConnected } from '../../src/platform/redis.js';
import { createScratchDatabase, deleteKeys } from './test-app.js';

const DEMO_PASSWORD = 'demo-password-123';

const cleanups: (() => Promise<void> | void)[] = [];

/** Stops the servers and drops the storage this file made, newest first. */
export async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on now, chosen below Linux's ephemeral range
 * (32768-60999): an outgoing connection of another test never takes it before the server binds it,
 * as it could take a port the kernel had handed out for `listen(0)`.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/** Where the server keeps its data: a fresh PGlite folder, or a scratch PostgreSQL database. */
export async function storage(label: string): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), `wardline-${label}-`));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    return { DATA_DIR: dataDir };
  }
  const scratch = await createScratchDatabase(url, inject('postgresTemplate'));
  cleanups.push(() => scratch.drop());
  const env: Record<string, string> = {
    DATABASE_URL: scratch.url,
    DEMO: '1',
    // The same secret across the restart, as a real deployment has.
    AUTH_SECRET: randomBytes(32).toString('hex'),
  };
  if (process.env.REDIS_URL) {
    const prefix = `wardline-${label}:${randomBytes(6).toString('hex')}:`;
    Object.assign(env, { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: prefix });
    cleanups.push(async () => {
      const redis = connectRedis(process.env.REDIS_URL!);
      try {
        // The client refuses commands until it is connected (no offline queue).
        if (!(await whenConnected(redis, 5000))) throw new Error('Redis did not answer; keys left under ' + prefix);
        await deleteKeys(redis, prefix);
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
    });
  }
  return env;
}

export interface Server {
  child: ChildProcessByStdio<null, Readable, Readable>;
  base: string;
  exited: Promise<number | null>;
  output: () => string;
}

export const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
};

/** Runs `src/main.ts` as `npm start` would, and resolves once `/health/ready` answers 200. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const server = { child, base: `http://127.0.0.1:${port}`, exited, output: () => output };

  // Generous: a start is slow while the rest of the suite loads both cores; this is a guard, not a measure.
  const deadline = Date.now() + 90_000;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the server exited before it was ready:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the server was not ready within 90 s:\n${output}`);
    const ready = await fetch(`${server.base}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    if (ready?.status === 200) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function signIn(server: Server, email: string): Promise<string> {
  const res = await fetch(`${server.base}/api/auth/sign-in/email`, {
    method: 'POST',
    // fetch sends Sec-Fetch-* headers, so Better Auth's CSRF check wants the Origin a browser would send.
    headers: { 'content-type': 'application/json', origin: server.base },
    body: JSON.stringify({ email, password: DEMO_PASSWORD }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { token: string }).token;
}
