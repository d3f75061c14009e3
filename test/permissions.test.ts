import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { members } from '../src/platform/auth/auth.schema.js';
import { can, PERMISSIONS, ROLES } from '../src/platform/permissions.js';
import { declarationProblem } from '../src/platform/tenancy/tenancy.plugin.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/database.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let tenant: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  tenant = await createTenant(t.app);
});
afterAll(() => t.close());

describe('the permission table', () => {
  it('is exactly what the product promises (a change here must be deliberate)', () => {
    expect(PERMISSIONS).toEqual({
      admin: [
        'organization:read',
        'hospitals:read',
        'staff:read',
        'shifts:own',
        'medications:read',
        'lab-tests:read',
        'insurers:read',
        'notifications:own',
        'organization:update',
        'users:read',
        'users:update-role',
        'users:remove',
        'invitations:read',
        'invitations:create',
        'invitations:cancel',
        'audit:read',
        'hospitals:manage',
        'staff:manage',
        'patients:access-log',
        'medications:manage',
        'lab-tests:manage',
        'insurers:manage',
        'pharmacy:read',
        'pharmacy:manage',
        'jobs:read',
        'alerts:policy',
      ],
      manager: [
        'organization:read',
        'hospitals:read',
        'staff:read',
        'shifts:own',
        'medications:read',
        'lab-tests:read',
        'insurers:read',
        'notifications:own',
        'users:read',
        'invitations:read',
        'audit:read',
        'staff:manage',
        'patients:read',
        'patients:archive',
        'patients:access-log',
        'appointments:read',
        'encounters:read',
        'prescriptions:read',
        'lab-orders:read',
        'pharmacy:read',
        'pharmacy:stock',
        'pharmacy:manage',
        'coverages:read',
        'prior-authorizations:read',
        'invoices:read',
        'billing:receivables',
        'dashboard:read',
        'jobs:read',
        'alerts:read',
        'alerts:raise',
        'alerts:respond',
        'alerts:policy',
        'alerts:stats',
      ],
      doctor: [
        'organization:read',
        'hospitals:read',
        'staff:read',
        'shifts:own',
        'medications:read',
        'lab-tests:read',
        'insurers:read',
        'notifications:own',
        'patients:read',
        'patients:create',
        'patients:update',
        'patients:access-log',
        'appointments:read',
        'appointments:progress',
        'encounters:read',
        'encounters:open',
        'encounters:sign',
        'notes:write',
        'notes:sign',
        'diagnoses:write',
        'vitals:record',
        'prescriptions:read',
        'prescriptions:prescribe',
        'lab-orders:read',
        'lab-orders:order',
        'lab-orders:review',
        'pharmacy:read',
        'coverages:read',
        'prior-authorizations:read',
        'prior-authorizations:request',
        'alerts:read',
        'alerts:raise',
        'alerts:respond',
      ],
      nurse: [
        'organization:read',
        'hospitals:read',
        'staff:read',
        'shifts:own',
        'medications:read',
        'lab-tests:read',
        'insurers:read',
        'notifications:own',
        'patients:read',
        'appointments:read',
        'appointments:progress',
        'encounters:read',
        'notes:write',
        'vitals:record',
        'prescriptions:read',
        'lab-orders:read',
        'lab-orders:process',
        'pharmacy:read',
        'pharmacy:stock',
        'pharmacy:dispense',
        'alerts:read',
        'alerts:raise',
        'alerts:respond',
      ],
      operator: [
        'organization:read',
        'hospitals:read',
        'staff:read',
        'shifts:own',
        'medications:read',
        'lab-tests:read',
        'insurers:read',
        'notifications:own',
        'patients:read',
        'patients:create',
        'patients:update',
        'patients:archive',
        'appointments:read',
        'appointments:schedule',
        'appointments:progress',
        'prescriptions:read',
        'coverages:read',
        'coverages:manage',
        'prior-authorizations:read',
        'prior-authorizations:request',
        'prior-authorizations:decide',
        'invoices:read',
        'invoices:manage',
        'alerts:read',
        'alerts:raise',
      ],
    });
  });

  it('is enforced on every route that declares a permission, for every role', async () => {
    const guarded = t.app.routeCatalog.filter((route) => route.config.permission);
    expect(guarded.length).toBeGreaterThanOrEqual(8);
    const mismatches: string[] = [];
    for (const route of guarded) {
      // A random id never exists: an allowed role gets past the permission check (200/4xx but not 403).
      // A route about an organization itself is called on the caller's own.
      const { organizationParam } = route.config;
      const url = route.url.replace(/:([A-Za-z]+)/g, (_, name: string) =>
        name === organizationParam ? tenant.organizationId : randomUUID(),
      );
      for (const role of ROLES) {
        const res = await as(t.app, tenant.users[role].token)({ method: route.method, url, payload: {} });
        const allowed = can(role, route.config.permission!);
        if ((res.statusCode === 403) === allowed) {
          mismatches.push(
            `${role} ${route.method} ${route.url}: ${res.statusCode}, expected ${allowed ? 'allowed' : '403'}`,
          );
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('route declarations', () => {
  it('stop start-up when a route says neither who may call it nor what permission it needs', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    const secret = 'c'.repeat(40);
    const app = await buildApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', AUTH_SECRET: secret }), {
      database,
      redis: null,
      authSecret: secret,
    });
    app.get('/api/v1/forgotten', async () => ({ secret: 'anyone could read this' }));
    app.get('/api/v1/both', { config: { permission: 'users:read', access: 'public' } }, async () => ({}));
    try {
      await expect(app.ready()).rejects.toThrow(
        /GET \/api\/v1\/forgotten declares neither config\.permission nor config\.access[\s\S]*GET \/api\/v1\/both declares both/,
      );
    } finally {
      await app.close().catch(() => {});
      await database.close();
    }
  });

  it('are all there on the real app: every route declares one', () => {
    const undeclared = t.app.routeCatalog.filter((route) => !route.config.permission && !route.config.access);
    expect(undeclared.map((route) => `${route.method} ${route.url}`)).toEqual([]);
  });
});

describe('routes about the organization in their path', () => {
  it('refuse to start with a misspelt or permission-less organizationParam', () => {
    const ok = { permission: 'organization:update', organizationParam: 'id' } as const;
    expect(declarationProblem('/api/v1/organizations/:id', ok)).toBeUndefined();
    expect(declarationProblem('/api/v1/organizations/:orgId', ok)).toMatch(/organizationParam/);
    expect(declarationProblem('/api/v1/organizations/:identifier', ok)).toMatch(/organizationParam/);
    expect(declarationProblem('/api/v1/organizations/:id', { access: 'signed-in', organizationParam: 'id' })).toMatch(
      /organizationParam/,
    );
  });

  it('answer a malformed organization id with 400 before looking at memberships', async () => {
    const res = await as(
      t.app,
      tenant.users.doctor.token,
    )({ method: 'PATCH', url: '/api/v1/organizations/a%00b', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([{ path: 'params.id', message: 'is not a valid id' }]);
  });
});

describe('privilege escalation through Better Auth endpoints', () => {
  it('does not let a user make themselves a platform admin', async () => {
    const call = as(t.app, tenant.users.admin.token);
    await call({ method: 'POST', url: '/api/auth/update-user', payload: { role: 'admin', name: 'Still Admin' } });
    const setRole = await call({
      method: 'POST',
      url: '/api/auth/admin/set-role',
      payload: { userId: tenant.users.admin.id, role: 'admin' },
    });
    expect(setRole.statusCode).toBe(403);
    const profile = await call({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.json().user.platformAdmin).toBe(false);
  });

  it('does not let an organization admin create or delete organizations', async () => {
    const call = as(t.app, tenant.users.admin.token);
    const create = await call({
      method: 'POST',
      url: '/api/auth/organization/create',
      payload: { name: 'Rogue', slug: 'rogue' },
    });
    expect(create.statusCode).toBe(404);
    const remove = await call({
      method: 'POST',
      url: '/api/auth/organization/delete',
      payload: { organizationId: tenant.organizationId },
    });
    expect(remove.statusCode).toBeGreaterThanOrEqual(400);
    expect((await call({ method: 'GET', url: `/api/v1/organizations/${tenant.organizationId}` })).statusCode).toBe(200);
  });

  it('does not let a manager promote anyone through the organization plugin', async () => {
    const [nurse] = await t.database.db
      .select({ id: members.id })
      .from(members)
      .where(eq(members.userId, tenant.users.nurse.id));
    const res = await as(
      t.app,
      tenant.users.manager.token,
    )({
      method: 'POST',
      url: '/api/auth/organization/update-member-role',
      payload: { memberId: nurse!.id, role: 'admin', organizationId: tenant.organizationId },
    });
    expect(res.statusCode).toBe(404);
    const list = await as(t.app, tenant.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    expect(list.json().data.find((u: { id: string }) => u.id === tenant.users.nurse.id).role).toBe('nurse');
  });
});
