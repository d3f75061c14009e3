import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can, PERMISSIONS, ROLES } from '../src/platform/permissions.js';
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
        'organization:update',
        'users:read',
        'users:update-role',
        'users:remove',
        'invitations:read',
        'invitations:create',
        'invitations:cancel',
      ],
      manager: ['organization:read', 'users:read', 'invitations:read'],
      doctor: ['organization:read'],
      nurse: ['organization:read'],
      operator: ['organization:read'],
    });
  });

  it('is enforced on every route that declares a permission, for every role', async () => {
    const guarded = t.app.routeCatalog.filter((route) => route.config.permission);
    expect(guarded.length).toBeGreaterThanOrEqual(6);
    const mismatches: string[] = [];
    for (const route of guarded) {
      // A random id never exists: an allowed role gets past the permission check (200/4xx but not 403).
      const url = route.url.replace(/:[A-Za-z]+/g, randomUUID());
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

  it("lets Better Auth's own organization endpoints obey the same table", async () => {
    const invite = (role: 'admin' | 'manager') =>
      as(
        t.app,
        tenant.users[role].token,
      )({
        method: 'POST',
        url: '/api/auth/organization/invite-member',
        payload: { email: `via-auth-${role}@example.test`, role: 'nurse', organizationId: tenant.organizationId },
      });
    expect((await invite('manager')).statusCode).toBe(403);
    expect((await invite('admin')).statusCode).toBe(200);
  });
});
