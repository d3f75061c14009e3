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

let t: TestApp;
let a: Tenant;
let b: Tenant;
let root: TestUser;

beforeAll(async () => {
  t = await buildTestApp();
  [a, b, root] = await Promise.all([createTenant(t.app), createTenant(t.app), createPlatformAdmin(t.app)]);
});
afterAll(() => t.close());

describe('GET /api/v1/organizations', () => {
  it('shows a member only their own organization', async () => {
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/organizations' });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.map((o: { id: string }) => o.id)).toEqual([a.organizationId]);
    expect(res.json().nextCursor).toBeNull();
  });

  it('shows a platform admin every organization, page by page', async () => {
    const call = as(t.app, root.token);
    const first = await call({ method: 'GET', url: '/api/v1/organizations?limit=1' });
    expect(first.statusCode).toBe(200);
    expect(first.json().data).toHaveLength(1);
    const second = await call({
      method: 'GET',
      url: `/api/v1/organizations?limit=1&cursor=${first.json().nextCursor}`,
    });
    const ids = [...first.json().data, ...second.json().data].map((o: { id: string }) => o.id);
    expect(ids).toEqual(expect.arrayContaining([a.organizationId, b.organizationId]));
    expect(new Set(ids).size).toBe(2);
  });

  it('rejects a malformed cursor and an out-of-range limit with 400', async () => {
    const call = as(t.app, root.token);
    expect((await call({ method: 'GET', url: '/api/v1/organizations?cursor=%%%' })).statusCode).toBe(400);
    const res = await call({ method: 'GET', url: '/api/v1/organizations?limit=101' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('needs credentials', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/organizations' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHENTICATED');
  });
});

describe('POST /api/v1/organizations', () => {
  it('lets a platform admin create one and invite its first admin', async () => {
    const res = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: '/api/v1/organizations',
      payload: { name: 'St. Example Clinic', slug: 'st-example-clinic', adminEmail: 'Chief@Example.test' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'St. Example Clinic', slug: 'st-example-clinic' });
    expect(res.json().invitationId).toEqual(expect.any(String));
  });

  it('answers a duplicate slug with 409 and a bad slug with 400', async () => {
    const call = as(t.app, root.token);
    const dup = await call({ method: 'POST', url: '/api/v1/organizations', payload: { name: 'Again', slug: a.slug } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('CONFLICT');
    const bad = await call({
      method: 'POST',
      url: '/api/v1/organizations',
      payload: { name: 'Bad', slug: 'Not A Slug' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details[0].path).toBe('body.slug');
  });

  it('is forbidden to an organization admin', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/organizations',
      payload: { name: 'Mine', slug: 'mine-too' },
    });
    expect(res.statusCode).toBe(403);
  });
});

describe('GET /api/v1/organizations/:id', () => {
  it("returns the caller's organization", async () => {
    const res = await as(
      t.app,
      a.users.operator.token,
    )({ method: 'GET', url: `/api/v1/organizations/${a.organizationId}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: a.organizationId, slug: a.slug });
  });

  it("answers 404 for another tenant's organization, even to its admin", async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({ method: 'GET', url: `/api/v1/organizations/${b.organizationId}` });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('lets a platform admin read any organization', async () => {
    const res = await as(t.app, root.token)({ method: 'GET', url: `/api/v1/organizations/${b.organizationId}` });
    expect(res.statusCode).toBe(200);
  });
});

describe('PATCH /api/v1/organizations/:id', () => {
  it('lets the organization admin rename it', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: { name: 'Renamed Hospital' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe('Renamed Hospital');
  });

  it('is forbidden to a doctor of the organization', async () => {
    const res = await as(
      t.app,
      a.users.doctor.token,
    )({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: { name: 'Nope' },
    });
    expect(res.statusCode).toBe(403);
  });

  it("answers 404 to another tenant's admin and leaves the record unchanged", async () => {
    const res = await as(
      t.app,
      b.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: { name: 'Hijacked' },
    });
    expect(res.statusCode).toBe(404);
    const after = await as(
      t.app,
      a.users.admin.token,
    )({ method: 'GET', url: `/api/v1/organizations/${a.organizationId}` });
    expect(after.json().name).not.toBe('Hijacked');
  });

  it('rejects an empty patch with 400', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: {},
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('POST /api/v1/organizations/:id/invitations', () => {
  it('lets a platform admin invite a replacement admin into an existing organization', async () => {
    const res = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: `/api/v1/organizations/${b.organizationId}/invitations`,
      payload: { email: 'new.chief@example.test', role: 'admin' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ organizationId: b.organizationId, role: 'admin', token: expect.any(String) });
    const signUp = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-up/email',
      payload: {
        email: 'new.chief@example.test',
        password: 'new-chief-password',
        name: 'Chief',
        invitationToken: res.json().token,
      },
    });
    expect(signUp.statusCode).toBe(200);
  });

  it('is 403 to anyone but a platform admin, whatever the organization, and 404 for an unknown one', async () => {
    const payload = { email: 'x@example.test', role: 'admin' };
    for (const id of [a.organizationId, 'nope']) {
      const url = `/api/v1/organizations/${id}/invitations`;
      const res = await as(t.app, a.users.admin.token)({ method: 'POST', url, payload });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toBe('only a platform admin may do this');
    }
    const unknown = await as(
      t.app,
      root.token,
    )({ method: 'POST', url: '/api/v1/organizations/nope/invitations', payload });
    expect(unknown.statusCode).toBe(404);
  });
});
