import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { members } from '../../platform/auth/auth.schema.js';
import { as, buildTestApp, createTenant, signIn, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

describe('GET /api/v1/users', () => {
  it("lists the members of the caller's organization to an admin and a manager", async () => {
    for (const role of ['admin', 'manager'] as const) {
      const res = await as(t.app, a.users[role].token)({ method: 'GET', url: '/api/v1/users' });
      expect(res.statusCode).toBe(200);
      const emails = res
        .json()
        .data.map((u: { email: string }) => u.email)
        .sort();
      expect(emails).toEqual(
        Object.values(a.users)
          .map((u) => u.email)
          .sort(),
      );
    }
  });

  it('pages with limit and cursor without repeating anyone', async () => {
    const call = as(t.app, a.users.admin.token);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call({ method: 'GET', url: `/api/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((u: { id: string }) => u.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('is forbidden to a nurse', async () => {
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/users' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
  });

  it("never shows another tenant's members", async () => {
    const res = await as(t.app, b.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    const ids = res.json().data.map((u: { id: string }) => u.id);
    for (const user of Object.values(a.users)) expect(ids).not.toContain(user.id);
  });

  it('asks a member of several organizations to choose one, and honours the choice', async () => {
    await t.database.db
      .insert(members)
      .values({ organizationId: b.organizationId, userId: a.users.manager.id, role: 'nurse' });
    // Written behind Wardline's back, so the cached memberships are dropped by hand.
    await t.app.memberships.forget(a.users.manager.id);
    const token = await signIn(t.app, a.users.manager.email);
    const unchosen = await as(t.app, token)({ method: 'GET', url: '/api/v1/users' });
    expect(unchosen.statusCode).toBe(400);
    expect(unchosen.json().error.message).toContain('x-organization-id');
    const inA = await as(t.app, token, { 'x-organization-id': a.organizationId })({
      method: 'GET',
      url: '/api/v1/users',
    });
    expect(inA.statusCode).toBe(200);
    // In B the same person is a nurse, who may not list users.
    const inB = await as(t.app, token, { 'x-organization-id': b.organizationId })({
      method: 'GET',
      url: '/api/v1/users',
    });
    expect(inB.statusCode).toBe(403);
    await t.database.db
      .delete(members)
      .where(and(eq(members.organizationId, b.organizationId), eq(members.userId, a.users.manager.id)));
    await t.app.memberships.forget(a.users.manager.id);
  });

  it('answers 403 when X-Organization-Id names an organization the caller is not in', async () => {
    const res = await as(t.app, a.users.admin.token, { 'x-organization-id': b.organizationId })({
      method: 'GET',
      url: '/api/v1/users',
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('PATCH /api/v1/users/:id/role', () => {
  it("lets an admin change a member's role, which takes effect at once", async () => {
    const tenant = await createTenant(t.app);
    const res = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.nurse.id}/role`,
      payload: { role: 'manager' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: tenant.users.nurse.id, role: 'manager' });
    const now = await as(t.app, tenant.users.nurse.token)({ method: 'GET', url: '/api/v1/users' });
    expect(now.statusCode).toBe(200);
  });

  it('rejects an unknown role with 400', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${a.users.nurse.id}/role`,
      payload: { role: 'surgeon' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe('body.role');
  });

  it('refuses to demote the last admin', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${a.users.admin.id}/role`,
      payload: { role: 'doctor' },
    });
    expect(res.statusCode).toBe(409);
  });

  it('answers 404 for a member of another tenant and changes nothing', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${b.users.doctor.id}/role`,
      payload: { role: 'admin' },
    });
    expect(res.statusCode).toBe(404);
    const list = await as(t.app, b.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    const doctor = list.json().data.find((u: { id: string }) => u.id === b.users.doctor.id);
    expect(doctor.role).toBe('doctor');
  });

  it('is forbidden to a manager', async () => {
    const res = await as(
      t.app,
      a.users.manager.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${a.users.nurse.id}/role`,
      payload: { role: 'doctor' },
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('DELETE /api/v1/users/:id', () => {
  it("removes the membership and revokes the user's sessions", async () => {
    const tenant = await createTenant(t.app);
    const secondSession = await signIn(t.app, tenant.users.doctor.email);
    const res = await as(
      t.app,
      tenant.users.admin.token,
    )({ method: 'DELETE', url: `/api/v1/users/${tenant.users.doctor.id}` });
    expect(res.statusCode).toBe(204);
    for (const token of [tenant.users.doctor.token, secondSession]) {
      const after = await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' });
      expect(after.statusCode).toBe(401);
    }
    const list = await as(t.app, tenant.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    expect(list.json().data.map((u: { id: string }) => u.id)).not.toContain(tenant.users.doctor.id);
  });

  it('deletes the API keys of someone left in no organization', async () => {
    const tenant = await createTenant(t.app);
    const created = await as(
      t.app,
      tenant.users.operator.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'ward display' },
    });
    const headers = { 'x-api-key': created.json().key as string };
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers })).statusCode).toBe(200);
    const res = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'DELETE',
      url: `/api/v1/users/${tenant.users.operator.id}`,
    });
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers })).statusCode).toBe(401);
  });

  it("answers 404 for another tenant's user and leaves them signed in", async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'DELETE', url: `/api/v1/users/${b.users.nurse.id}` });
    expect(res.statusCode).toBe(404);
    const still = await as(t.app, b.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(still.statusCode).toBe(200);
  });

  it('refuses to remove the last admin', async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'DELETE', url: `/api/v1/users/${a.users.admin.id}` });
    expect(res.statusCode).toBe(409);
  });

  it('is forbidden to an operator', async () => {
    const res = await as(t.app, a.users.operator.token)({ method: 'DELETE', url: `/api/v1/users/${a.users.nurse.id}` });
    expect(res.statusCode).toBe(403);
  });
});
