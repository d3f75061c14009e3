import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
  type Tenant,
  type TestApp,
  type TestUser,
} from '../../../test/helpers/test-app.js';
import { sessions, users } from '../auth/auth.schema.js';
import { auditEvents } from '../audit/audit.schema.js';
import { LOAD_TEST_ORGANIZATION } from './load-test-account.js';

let t: TestApp;
let admin: TestUser;
let tenant: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  t.app.loadTests.syntheticPatients = 40;
  // The endpoint loads the server through its own listening address.
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  admin = await createPlatformAdmin(t.app);
  tenant = await createTenant(t.app);
});
afterAll(() => t.close());

async function waitForEnd(id: string) {
  for (let i = 0; i < 300; i++) {
    const res = await as(t.app, admin.token)({ method: 'GET', url: `/api/v1/admin/load-tests/${id}` });
    expect(res.statusCode).toBe(200);
    const run = res.json();
    if (run.status !== 'preparing' && run.status !== 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the load test did not end');
}

describe('admin load tests', () => {
  it('runs a bounded mixed load against a synthetic organization, one at a time, and reports it', async () => {
    const start = await as(
      t.app,
      admin.token,
    )({
      method: 'POST',
      url: '/api/v1/admin/load-tests',
      payload: { scenario: 'mixed', connections: 3, durationSeconds: 1 },
    });
    expect(start.statusCode).toBe(202);
    const { id, status } = start.json();
    expect(['preparing', 'running']).toContain(status);

    const second = await as(
      t.app,
      admin.token,
    )({
      method: 'POST',
      url: '/api/v1/admin/load-tests',
      payload: { scenario: 'health', connections: 1, durationSeconds: 1 },
    });
    expect(second.statusCode).toBe(409);

    const run = await waitForEnd(id);
    expect(run.status).toBe('finished');
    expect(run.report.requests).toBeGreaterThan(0);
    expect(run.report.errors).toBe(0);
    expect(run.report.latencyMs.p99).toBeGreaterThanOrEqual(run.report.latencyMs.p50);
    expect(run.startedBy).toBe(admin.id);

    // The credential is gone once the run ends, and the run is in the synthetic organization's trail.
    const [doctor] = await t.app.database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, 'load-test-doctor@wardline-load-test.invalid'));
    const left = await t.app.database.db.select().from(sessions).where(eq(sessions.userId, doctor!.id));
    expect(left).toHaveLength(0);
    await t.app.auditLog.drain();
    const trail = await t.app.database.db
      .select({ action: auditEvents.action, actorId: auditEvents.actorId, actorRole: auditEvents.actorRole })
      .from(auditEvents)
      .where(and(eq(auditEvents.resourceType, 'load-test'), eq(auditEvents.resourceId, id)));
    expect(trail.map((e) => e.action).sort()).toEqual(['load-test.finish', 'load-test.start']);
    expect(trail.every((e) => e.actorId === admin.id && e.actorRole === 'platform-admin')).toBe(true);

    // A tenant's users never see the synthetic organization's patients (nor the run).
    const list = await as(t.app, tenant.users.doctor.token)({ method: 'GET', url: '/api/v1/patients' });
    expect(list.json().data).toHaveLength(0);
  });

  it('refuses bounds it does not allow and unknown scenarios', async () => {
    for (const payload of [
      { scenario: 'mixed', connections: 1001, durationSeconds: 1 },
      { scenario: 'mixed', connections: 1, durationSeconds: 61 },
      { scenario: 'mixed', connections: 0 },
      { scenario: 'ddos' },
      { scenario: 'health', url: 'http://example.com' },
    ]) {
      const res = await as(t.app, admin.token)({ method: 'POST', url: '/api/v1/admin/load-tests', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const missing = await as(t.app, admin.token)({ method: 'GET', url: `/api/v1/admin/load-tests/${randomUUID()}` });
    expect(missing.statusCode).toBe(404);
  });

  it('is for platform admins only', async () => {
    const payload = { scenario: 'health', connections: 1, durationSeconds: 1 };
    const byAdmin = await as(
      t.app,
      tenant.users.admin.token,
    )({ method: 'POST', url: '/api/v1/admin/load-tests', payload });
    expect(byAdmin.statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/v1/admin/load-tests', payload });
    expect(anonymous.statusCode).toBe(401);
    const read = await as(
      t.app,
      tenant.users.manager.token,
    )({
      method: 'GET',
      url: `/api/v1/admin/load-tests/${randomUUID()}`,
    });
    expect(read.statusCode).toBe(403);
  });

  it('refuses to take over an organization that already has the load-test slug', async () => {
    const other = await buildTestApp();
    try {
      await other.app.listen({ port: 0, host: '127.0.0.1' });
      const root = await createPlatformAdmin(other.app);
      await other.app.inject({ method: 'GET', url: '/health' });
      const { organizations } = await import('../auth/auth.schema.js');
      await other.app.database.db
        .insert(organizations)
        .values({ name: 'A real hospital', slug: LOAD_TEST_ORGANIZATION.slug, metadata: '{}' });
      const start = await as(
        other.app,
        root.token,
      )({
        method: 'POST',
        url: '/api/v1/admin/load-tests',
        payload: { scenario: 'read', connections: 1, durationSeconds: 1 },
      });
      expect(start.statusCode).toBe(202);
      const id = start.json().id;
      let run;
      for (let i = 0; i < 100; i++) {
        run = (await as(other.app, root.token)({ method: 'GET', url: `/api/v1/admin/load-tests/${id}` })).json();
        if (run.status === 'failed' || run.status === 'finished') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/not the synthetic load-test one/);
    } finally {
      await other.close();
    }
  });
});
