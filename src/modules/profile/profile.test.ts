import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
  signIn,
  type Tenant,
  type TestApp,
} from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
});
afterAll(() => t.close());

describe('GET /api/v1/profile', () => {
  it('shows the caller, their organization and role', async () => {
    const res = await as(t.app, a.users.doctor.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      user: { id: a.users.doctor.id, email: a.users.doctor.email, name: 'Test doctor', platformAdmin: false },
      authMethod: 'bearer',
      organizations: [{ id: a.organizationId, name: expect.any(String), slug: a.slug, role: 'doctor' }],
    });
  });

  it('marks a platform admin, who may belong to no organization', async () => {
    const root = await createPlatformAdmin(t.app);
    const res = await as(t.app, root.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(res.json()).toMatchObject({ user: { platformAdmin: true }, organizations: [] });
  });

  it('is 401 without credentials or with a forged token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
    const forged = await as(t.app, 'forged-token')({ method: 'GET', url: '/api/v1/profile' });
    expect(forged.statusCode).toBe(401);
    expect(forged.json().error.code).toBe('UNAUTHENTICATED');
  });

  it('never returns fields outside its schema (no password hashes, no session secrets)', async () => {
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(res.body).not.toMatch(/password|token|secret/i);
  });
});

describe('/api/v1/profile/sessions', () => {
  it("lists the caller's live sessions without their tokens, marking the current one", async () => {
    const tenant = await createTenant(t.app);
    const other = await signIn(t.app, tenant.users.nurse.email);
    const res = await as(t.app, tenant.users.nurse.token)({ method: 'GET', url: '/api/v1/profile/sessions' });
    expect(res.statusCode).toBe(200);
    const { data, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(data).toHaveLength(2);
    expect(data.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    expect(res.body).not.toContain(tenant.users.nurse.token);
    expect(res.body).not.toContain(other);
    expect(res.body).not.toMatch(/token/i);
  });

  it('signs out one session by id: its token stops working, the others keep going', async () => {
    const tenant = await createTenant(t.app);
    const other = await signIn(t.app, tenant.users.doctor.email);
    const call = as(t.app, tenant.users.doctor.token);
    const listed = await call({ method: 'GET', url: '/api/v1/profile/sessions' });
    const target = listed.json().data.find((s: { current: boolean }) => !s.current);
    const res = await call({ method: 'DELETE', url: `/api/v1/profile/sessions/${target.id}` });
    expect(res.statusCode).toBe(204);
    expect((await as(t.app, other)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
    expect((await call({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    expect((await call({ method: 'DELETE', url: `/api/v1/profile/sessions/${target.id}` })).statusCode).toBe(404);
  });

  it("answers 404 for someone else's session and leaves it alone", async () => {
    const listed = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/profile/sessions' });
    const adminSession = listed.json().data[0].id as string;
    const res = await as(
      t.app,
      a.users.operator.token,
    )({
      method: 'DELETE',
      url: `/api/v1/profile/sessions/${adminSession}`,
    });
    expect(res.statusCode).toBe(404);
    expect((await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
  });

  it('is 401 without credentials', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile/sessions' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/profile/sessions/x' })).statusCode).toBe(401);
  });
});

describe('revoking one of your sessions', () => {
  it("is on the audit trail of the caller's organization", async () => {
    const second = await signIn(t.app, a.users.nurse.email);
    const list = await as(t.app, second)({ method: 'GET', url: '/api/v1/profile/sessions?limit=100' });
    const other = list.json().data.find((s: { current: boolean }) => !s.current);
    const res = await as(t.app, second)({ method: 'DELETE', url: `/api/v1/profile/sessions/${other.id}` });
    expect(res.statusCode).toBe(204);
    const trail = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'GET',
      url: `/api/v1/audit-events?action=auth.session-revoke&resourceId=${other.id}`,
    });
    expect(trail.json().data).toMatchObject([
      {
        actorId: a.users.nurse.id,
        actorRole: 'nurse',
        resourceType: 'session',
        requestId: res.headers['x-request-id'],
      },
    ]);
  });
});
