import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

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

  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(() => loadConfig({ ADMIN_EMAIL: 'boss@example.test' })).toThrow(/ADMIN_PASSWORD/);
  });
});

describe('start-up', () => {
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
    expect(run.output().stderr).toMatch(/DATABASE_URL: cannot use the database at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  it('serves, then shuts down cleanly on SIGTERM with exit code 0', async () => {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const run = start({ PORT: port, DATA_DIR: tempDir() });
    await new Promise<void>((resolve, reject) => {
      run.child.stdout.on('data', () => run.output().stdout.includes('Wardline is running') && resolve());
      void run.exited.then((code) => reject(new Error(`exited early (${code}): ${run.output().stderr}`)));
    });
    expect(run.output().stdout).toContain(`http://127.0.0.1:${port}/api/docs`);
    const health = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(health.status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
