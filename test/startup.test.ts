import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { UNREACHABLE_REDIS } from './helpers/test-app.js';
import { freePort } from './helpers/server-process.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'wardline-start-'));
  dirs.push(dir);
  return dir;
}

/** Runs `src/main.ts` as `npm start` would, with only the given variables (plus PATH). */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', DEMO: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** A copy of a postgres:// URL with another database, user or password. */
function withUrl(url: string, parts: { database?: string; user?: string; password?: string }) {
  const copy = new URL(url);
  if (parts.database) copy.pathname = `/${parts.database}`;
  if (parts.user) copy.username = parts.user;
  if (parts.password) copy.password = parts.password;
  return copy.toString();
}

/**
 * The PostgreSQL server of DATABASE_URL when the suite runs against one; otherwise a stand-in that
 * answers every connection's start-up message as PostgreSQL does for a database or role it does not
 * have (an ErrorResponse with the same fields).
 */
async function postgresServer(): Promise<{ url: string; host: string; close(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    return { url, host: new URL(url).host, close: async () => {} };
  }
  const server = createServer((socket) => {
    // A client may reset the connection once it has read the refusal (the read lanes close theirs at once).
    socket.on('error', () => {});
    socket.once('data', (startup: Buffer) => {
      // Start-up message: length, protocol version, then "name\0value\0" pairs.
      const pairs = startup.subarray(8).toString('utf8').split('\0');
      const setting = (name: string) => pairs[pairs.indexOf(name) + 1] ?? '';
      const [code, message] =
        setting('user') === 'postgres'
          ? ['3D000', `database "${setting('database')}" does not exist`]
          : ['28000', `role "${setting('user')}" does not exist`];
      const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
      const length = Buffer.alloc(4);
      length.writeInt32BE(fields.length + 4);
      socket.end(Buffer.concat([Buffer.from('E'), length, fields]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `postgres://postgres@${host}/postgres`,
    host,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Starts the server and resolves once it prints its banner. */
async function startServing(env: Record<string, string>) {
  const run = start(env);
  await new Promise<void>((resolve, reject) => {
    run.child.stdout.on('data', () => run.output().stdout.includes('Wardline is running') && resolve());
    void run.exited.then((code) => reject(new Error(`exited early (${code}): ${run.output().stderr}`)));
  });
  // The notes follow the banner in the same write; give the stream a moment to flush them.
  await new Promise((resolve) => setImmediate(resolve));
  return run;
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 5000,
      HOST: '127.0.0.1',
      DATA_DIR: './data',
      embedded: true,
      demoEnabled: true,
    });
    expect(config.publicUrl).toBe('http://127.0.0.1:5000');
  });

  it('names every bad variable and why', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://db/x', CORS_ORIGINS: 'not a url' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT: /m);
      expect(problems).toMatch(/^DATABASE_URL: must be a postgres/m);
      expect(problems).toMatch(/^CORS_ORIGINS/m);
    }
  });

  it('requires AUTH_SECRET in production and keeps demo data off there', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_SECRET: is required/);
    const config = loadConfig({ NODE_ENV: 'production', AUTH_SECRET: 'p'.repeat(40) });
    expect(config.demoEnabled).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db' }).demoEnabled).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db', DEMO: '1' }).demoEnabled).toBe(true);
  });

  it('reports rules across variables alongside every other problem', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', PORT: 'abc' })).toThrow(/PORT[\s\S]*AUTH_SECRET: is required/);
  });

  it('wants HOST to be an address or a host name', () => {
    expect(() => loadConfig({ HOST: 'not_a_host' })).toThrow(/HOST: must be an IP address or a host name/);
    for (const host of ['0.0.0.0', '::', 'wardline.internal']) expect(loadConfig({ HOST: host }).HOST).toBe(host);
    expect(loadConfig({ HOST: '::1' }).publicUrl).toBe('http://[::1]:5000');
    expect(loadConfig({ HOST: '::' }).publicUrl).toBe('http://127.0.0.1:5000');
  });

  it('wants passwords Better Auth accepts at sign-in', () => {
    expect(() => loadConfig({ DEMO_PASSWORD: 'x'.repeat(129) })).toThrow(/DEMO_PASSWORD: must be at most 128/);
    expect(() => loadConfig({ ADMIN_EMAIL: 'a@example.test', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
  });

  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(() => loadConfig({ ADMIN_EMAIL: 'boss@example.test' })).toThrow(/ADMIN_PASSWORD/);
  });
});

// Each test spawns the server (TypeScript compiled on the fly by tsx): slow on a busy machine.
describe('start-up', { timeout: 120_000 }, () => {
  it('stops with a clear message on a bad PORT', async () => {
    const run = start({ PORT: '99999', DATA_DIR: tempDir() });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/Wardline cannot start[\s\S]*PORT: /);
  });

  it('stops with a clear message on a malformed DATABASE_URL', async () => {
    const run = start({ DATABASE_URL: 'mysql://localhost/wardline' });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/DATABASE_URL: must be a postgres/);
  });

  it('stops with a clear message when DATABASE_URL cannot be reached', async () => {
    const run = start({ DATABASE_URL: 'postgres://127.0.0.1:1/wardline' });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(
      /DATABASE_URL: cannot use the database at 127\.0\.0\.1:1 \(ECONNREFUSED: nothing accepts connections there\)/,
    );
  });

  it('names a database that does not exist (3D000) and a role that does not exist (28000), never the password', async () => {
    const server = await postgresServer();
    try {
      const missingDatabase = withUrl(server.url, { database: 'wardline_nowhere', password: 'pw-secret-123' });
      const first = start({ DATABASE_URL: missingDatabase });
      expect(await first.exited).toBe(1);
      expect(first.output().stderr).toContain(
        `DATABASE_URL: cannot use the database at ${server.host} ` +
          '(database "wardline_nowhere" does not exist, SQLSTATE 3D000)',
      );
      expect(first.output().stderr).not.toContain('pw-secret-123');

      const missingRole = withUrl(server.url, { user: 'wardline_nobody', password: 'pw-secret-123' });
      const second = start({ DATABASE_URL: missingRole });
      expect(await second.exited).toBe(1);
      expect(second.output().stderr).toContain('(role "wardline_nobody" does not exist, SQLSTATE 28000)');
      expect(second.output().stderr).not.toContain('pw-secret-123');
      expect(second.output().stderr).not.toMatch(/^\s+at /m);
    } finally {
      await server.close();
    }
  });

  it('says what is degraded when Redis is unreachable, and still serves', async () => {
    const port = String(await freePort());
    const run = await startServing({
      PORT: port,
      DATA_DIR: tempDir(),
      REDIS_URL: UNREACHABLE_REDIS,
      REDIS_CONNECT_WAIT_MS: '500',
    });
    const { stdout } = run.output();
    expect(stdout).not.toContain('with Redis');
    expect(stdout).toContain(`Redis at ${new URL(UNREACHABLE_REDIS).host} is unreachable`);
    expect(stdout).toContain('per-IP sign-in limit is');
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('names PORT, without a stack trace, when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = start({ PORT: String(port), DATA_DIR: tempDir() });
      expect(await run.exited).toBe(1);
      expect(run.output().stderr).toContain(`PORT: ${port} is already in use on 127.0.0.1`);
      expect(run.output().stderr).not.toMatch(/^\s+at /m);
    } finally {
      taken.close();
    }
  });

  it('names DATA_DIR, without a stack trace, when it cannot hold the database', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    const run = start({ DATA_DIR: file });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(/DATA_DIR: cannot keep the embedded database in .*a-file \((ENOTDIR|EEXIST)\b/);
    expect(run.output().stderr).not.toMatch(/^\s+at /m);
  });

  it('serves, then shuts down cleanly on SIGTERM with exit code 0', async () => {
    const port = String(await freePort());
    const run = await startServing({ PORT: port, DATA_DIR: tempDir() });
    expect(run.output().stdout).toContain(`http://127.0.0.1:${port}/api/docs`);
    const health = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(health.status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('seeds the demo tenant and the ADMIN_EMAIL admin once, and keeps data and sessions across a restart', async () => {
    const port = String(await freePort());
    const env = {
      PORT: port,
      DATA_DIR: tempDir(),
      DEMO: '1',
      ADMIN_EMAIL: 'chief@example.test',
      ADMIN_PASSWORD: 'chief-password-123',
    };
    const first = await startServing(env);
    expect(first.output().stdout).toContain('SYNTHETIC demo tenant');
    expect(first.output().stdout).toContain('nurse@demo.test');
    expect(first.output().stdout).toContain('Created the platform admin chief@example.test');
    const base = `http://127.0.0.1:${port}`;
    const signIn = await fetch(`${base}/api/auth/sign-in/email`, {
      method: 'POST',
      // fetch sends Sec-Fetch-* headers, so Better Auth's CSRF check wants the Origin a browser would send.
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email: 'nurse@demo.test', password: 'demo-password-123' }),
    });
    expect(signIn.status, await signIn.clone().text()).toBe(200);
    const { token } = (await signIn.json()) as { token: string };
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startServing(env);
    expect(second.output().stdout).not.toContain('Created the platform admin');
    expect(second.output().stdout).toContain('demo tenant "Demo General Hospital" is loaded');
    const profile = await fetch(`${base}/api/v1/profile`, { headers: { authorization: `Bearer ${token}` } });
    expect(profile.status).toBe(200);
    expect(((await profile.json()) as { organizations: { slug: string }[] }).organizations[0]!.slug).toBe(
      'demo-general-hospital',
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
