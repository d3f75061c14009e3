import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { members } from '../src/platform/auth/auth.schema.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

describe('tenant isolation: the admin of tenant A against tenant B', () => {
  const adminOfA = () => as(t.app, a.users.admin.token);

  it("gets 404 for B's organization, read or write", async () => {
    expect((await adminOfA()({ method: 'GET', url: `/api/v1/organizations/${b.organizationId}` })).statusCode).toBe(
      404,
    );
    const patch = await adminOfA()({
      method: 'PATCH',
      url: `/api/v1/organizations/${b.organizationId}`,
      payload: { name: 'Mine now' },
    });
    expect(patch.statusCode).toBe(404);
  });

  it("gets 404 for B's users, whatever the action", async () => {
    const id = b.users.nurse.id;
    expect(
      (await adminOfA()({ method: 'PATCH', url: `/api/v1/users/${id}/role`, payload: { role: 'admin' } })).statusCode,
    ).toBe(404);
    expect((await adminOfA()({ method: 'DELETE', url: `/api/v1/users/${id}` })).statusCode).toBe(404);
  });

  it('never sees B in a list', async () => {
    const orgs = await adminOfA()({ method: 'GET', url: '/api/v1/organizations?limit=100' });
    expect(orgs.json().data.map((o: { id: string }) => o.id)).not.toContain(b.organizationId);
    const users = await adminOfA()({ method: 'GET', url: '/api/v1/users?limit=100' });
    const ids = users.json().data.map((u: { id: string }) => u.id);
    for (const user of Object.values(b.users)) expect(ids).not.toContain(user.id);
  });

  it('cannot select B with X-Organization-Id (403: not a member)', async () => {
    const res = await as(t.app, a.users.admin.token, { 'x-organization-id': b.organizationId })({
      method: 'GET',
      url: '/api/v1/users',
    });
    expect(res.statusCode).toBe(403);
  });

  it("cannot reach B through Better Auth's organization endpoints either", async () => {
    const [nurseOfB] = await t.database.db
      .select({ id: members.id })
      .from(members)
      .where(eq(members.userId, b.users.nurse.id));
    const res = await adminOfA()({
      method: 'POST',
      url: '/api/auth/organization/update-member-role',
      payload: { memberId: nurseOfB!.id, role: 'admin', organizationId: b.organizationId },
    });
    expect([400, 403, 404]).toContain(res.statusCode);
    const list = await as(t.app, b.users.admin.token)({ method: 'GET', url: '/api/v1/users?limit=100' });
    expect(list.json().data.find((u: { id: string }) => u.id === b.users.nurse.id).role).toBe('nurse');
  });
});
