import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { connectRedis, whenConnected } from '../src/platform/redis.js';
import { createScratchDatabase, deleteKeys } from './helpers/test-app.js';

// The promise of the group commit, tested the hard way: a read is answered only once its audit event
// is durable, so killing the server (SIGKILL, nothing flushed on the way out) while it answers reads
// under load must not lose the event of any read that was answered.

const LOOPS = 20;
/** Answered reads after which the server is killed, while the other loops' reads are in flight. */
const KILL_AFTER = 300;
const DEMO_PASSWORD = 'demo-password-123';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Where the server keeps its data: a fresh PGlite folder, or a scratch PostgreSQL database. */
async function storage(): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'wardline-crash-'));
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
    const prefix = `wardline-crash:${randomBytes(6).toString('hex')}:`;
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

interface Server {
  child: ChildProcessByStdio<null, Readable, Readable>;
  base: string;
  exited: Promise<number | null>;
  output: () => string;
}

const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]);
};

/** Runs `src/main.ts` as `npm start` would, and resolves once `/health/ready` answers 200. */
async function startServer(env: Record<string, string>): Promise<Server> {
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

  const deadline = Date.now() + 40_000;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the server exited before it was ready:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the server was not ready within 40 s:\n${output}`);
    const ready = await fetch(`${server.base}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(
      () => undefined,
    );
    if (ready?.status === 200) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function signIn(server: Server, email: string): Promise<string> {
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

/**
 * GET /api/v1/users from LOOPS loops at once, each request with its own id, until KILL_AFTER have been
 * answered; then SIGKILL, with the other loops' requests in flight. Returns the ids answered 2xx
 * (including any answer that still arrives after the kill).
 */
async function readUntilKilled(server: Server, token: string) {
  const answered: string[] = [];
  const failures: string[] = [];
  let killed = false;
  let inFlightAtKill = 0;
  let inFlight = 0;
  const run = randomBytes(4).toString('hex');
  const loop = async (loopNo: number) => {
    for (let n = 0; !killed; n++) {
      const requestId = `crash-${run}-${loopNo}-${n}`;
      inFlight++;
      try {
        const res = await fetch(`${server.base}/api/v1/users`, {
          headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status >= 200 && res.status < 300) answered.push(requestId);
        else if (!killed) failures.push(`${requestId}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer().catch(() => {});
      } catch (error) {
        // After the kill, connections fail: that is the point. Before it, any failure is a bug.
        if (!killed) failures.push(`${requestId}: ${String(error)}`);
        return;
      } finally {
        inFlight--;
      }
      if (!killed && answered.length >= KILL_AFTER) {
        killed = true;
        inFlightAtKill = inFlight;
        server.child.kill('SIGKILL');
      }
      if (failures.length > 0) return;
    }
  };
  await within(45_000, 'the load', Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i))));
  return { answered, failures, killed, inFlightAtKill };
}

/** The request ids of the organization's `users.list` events, from the audit trail's CSV export. */
async function auditedRequestIds(server: Server, token: string): Promise<Set<string>> {
  const res = await fetch(`${server.base}/api/v1/audit-events/export.csv?action=users.list`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(200);
  const [header, ...lines] = (await res.text()).trim().split('\n');
  const columns = header!.split(',');
  expect(columns.at(-1)).toBe('requestId');
  // Request ids are the last column and hold no comma or quote, so the line's tail is the id.
  return new Set(lines.map((line) => line.slice(line.lastIndexOf(',') + 1).trim()));
}

describe('the audit trail across a crash', () => {
  it('keeps an event for every read answered before kill -9, and the chain still verifies', async () => {
    const env = await storage();
    const first = await startServer(env);
    const token = await signIn(first, 'admin@demo.test');

    const load = await readUntilKilled(first, token);
    expect(load.failures, first.output()).toEqual([]);
    expect(load.killed).toBe(true);
    expect(load.answered.length).toBeGreaterThanOrEqual(KILL_AFTER);
    // The kill came while reads were still being served, not after the load had drained.
    expect(load.inFlightAtKill).toBeGreaterThan(0);
    await within(10_000, 'the killed server to exit', first.exited);
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await startServer(env);
    const admin = await signIn(second, 'admin@demo.test');
    const audited = await auditedRequestIds(second, admin);
    const lost = load.answered.filter((id) => !audited.has(id));
    expect(lost, `${lost.length} of ${load.answered.length} answered reads have no audit event`).toEqual([]);

    const verify = await fetch(`${second.base}/api/v1/audit-events/verify`, {
      headers: { authorization: `Bearer ${admin}` },
      signal: AbortSignal.timeout(20_000),
    });
    expect(verify.status).toBe(200);
    const report = (await verify.json()) as { broken: unknown; events: number };
    expect(report.broken).toBeNull();
    expect(report.events).toBeGreaterThanOrEqual(load.answered.length);

    second.child.kill('SIGTERM');
    expect(await within(15_000, 'the restarted server to stop', second.exited)).toBe(0);
  }, 90_000);
});
