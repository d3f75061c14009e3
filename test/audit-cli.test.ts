import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { auditEvents } from '../src/platform/audit/audit.schema.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { as, createScratchDatabase, createTenant, type Tenant } from './helpers/test-app.js';

const run = promisify(execFile);

/** The database the command is pointed at: a PGlite folder, or a scratch PostgreSQL database. */
let env: Record<string, string>;
let cleanup: () => Promise<void>;
let tenant: Tenant;

async function openIt(): Promise<Database> {
  return env.DATABASE_URL
    ? openDatabase({ url: env.DATABASE_URL, poolSize: 2 })
    : openDatabase({ dataDir: join(env.DATA_DIR!, 'pglite') });
}

async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/audit-verify.ts', ...args], {
      env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL);
    env = { DATABASE_URL: scratch.url };
    cleanup = () => scratch.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'wardline-audit-cli-'));
    env = { DATA_DIR: dir };
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  // Some history to verify, written by the app itself; then the app lets go of the database.
  const database = await openIt();
  await database.migrate();
  const secret = 'a'.repeat(40);
  const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_SECRET: secret }), {
    database,
    redis: null,
    authSecret: secret,
  });
  await app.ready();
  tenant = await createTenant(app);
  for (const role of ['doctor', 'nurse'] as const) {
    await as(
      app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users[role].id}/role`,
      payload: { role: 'manager' },
    });
  }
  await app.close();
  await database.close();
}, 120_000);
afterAll(() => cleanup());

describe('npm run audit:verify', () => {
  it('reports every chain intact and exits 0', async () => {
    const { code, out } = await verify();
    expect(code).toBe(0);
    expect(out).toContain(`ok      ${tenant.organizationId}:`);
    expect(out).toMatch(/All \d+ chains hold\./);
  });

  it('names the altered row with its sequence number and exits 1; --org checks one chain', async () => {
    const database = await openIt();
    const [target] = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, tenant.organizationId), eq(auditEvents.action, 'users.role-change')));
    await database.db.execute(sql`alter table audit_events disable trigger audit_events_append_only`);
    await database.db.execute(sql`update audit_events set resource_id = 'someone-else' where id = ${target!.id}`);
    await database.db.execute(sql`alter table audit_events enable trigger audit_events_append_only`);
    await database.close();

    const all = await verify();
    expect(all.code).toBe(1);
    expect(all.out).toContain(`BROKEN  ${tenant.organizationId}: event ${target!.seq} is altered (id ${target!.id})`);
    const one = await verify('--org', tenant.organizationId);
    expect(one.code).toBe(1);
    expect(one.out.trim().split('\n')).toHaveLength(2);
  });

  it('says so, and exits 1, when --org names no chain', async () => {
    const { code, out } = await verify('--org', 'not-an-organization');
    expect(code).toBe(1);
    expect(out).toContain('no audit events for an organization with the id not-an-organization');
  });

  it('refuses an unknown option with exit code 2', async () => {
    const { code, out } = await verify('--organisation', 'x');
    expect(code).toBe(2);
    expect(out).toContain('Usage: npm run audit:verify');
  });
});
