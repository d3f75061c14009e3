import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/server-process.js';

// `npm start` as the README has it, as a real process tree: SIGTERM sent to npm, or to the server
// under it, drains the server and ends the whole tree with exit code 0.

const root = new URL('..', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// Compile first, as `npm start` would, so that the tests time the start and the stop rather than a
// full build of a changed tree (minutes on a busy machine); `npm start` then takes the quick path.
beforeAll(async () => {
  const tsc = spawn(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  const [code] = (await once(tsc, 'exit')) as [number | null];
  expect(code, 'the TypeScript build fails: npm start cannot start').toBe(0);
}, 600_000);

/** Every process under `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // "pid (command) state ppid ...": the command may hold spaces and parentheses.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const walk = (id: number) => (children.get(id) ?? []).forEach((child) => (found.push(child), walk(child)));
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface NpmStart {
  npm: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  exited: Promise<number | null>;
  output: () => string;
}

/** Runs `npm start` and resolves once the server prints its banner. */
async function npmStart(): Promise<NpmStart> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'wardline-npm-start-'));
  dirs.push(dataDir);
  const npm = spawn('npm', ['start'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), DATA_DIR: dataDir, DEMO: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(npm, 'exit').then(([code]) => code as number | null);
  await new Promise<void>((resolve, reject) => {
    npm.stdout.on('data', () => output.includes('Wardline is running') && resolve());
    void exited.then((code) => reject(new Error(`npm start exited early (${code}): ${output}`)));
  });
  return { npm, port, exited, output: () => output };
}

/** Whether a connection to the port is refused (nothing listens there any more). */
async function refused(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  const outcome = await new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('error', (error: Error & { code?: string }) => resolve(error.code ?? 'error'));
  });
  socket.destroy();
  return outcome === 'ECONNREFUSED';
}

describe('npm start', () => {
  it('stops the server, drained, with exit code 0 when npm gets SIGTERM', { timeout: 180_000 }, async () => {
    const run = await npmStart();
    const tree = descendants(run.npm.pid!);
    // npm runs the server directly (`exec` in the script): no shell between them to swallow the signal.
    expect(tree).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${run.port}/health`)).status).toBe(200);

    run.npm.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('"msg":"shutting down"');
    expect(await refused(run.port)).toBe(true);
    expect(tree.filter(alive)).toEqual([]);
  });

  it(
    'does the same when the server itself gets SIGTERM, even with a stalled upload open',
    { timeout: 180_000 },
    async () => {
      const run = await npmStart();
      const [server] = descendants(run.npm.pid!);
      // A client that sends half a body and stops: it must not hold the shutdown (10 s) up.
      const stalled = connect(run.port, '127.0.0.1');
      await once(stalled, 'connect');
      stalled.on('error', () => {});
      let answer = '';
      stalled.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      stalled.write(
        'POST /nothing HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"a"',
      );
      const closedByServer = once(stalled, 'close');
      // Signalled once the server has the request (it logs it), so it is mid-body, not refused as too late.
      while (!run.output().includes('"path":"/nothing"')) await once(run.npm.stdout, 'data');

      const started = Date.now();
      process.kill(server!, 'SIGTERM');
      expect(await run.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await closedByServer;
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(await refused(run.port)).toBe(true);
      expect(alive(server!)).toBe(false);
    },
  );
});
