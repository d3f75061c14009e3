import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
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
