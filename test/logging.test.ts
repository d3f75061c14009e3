import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, createTenant, PASSWORD, type Tenant, type TestApp } from './helpers/test-app.js';

const lines: string[] = [];
let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ LOG_LEVEL: 'info' }, { logStream: { write: (line) => lines.push(line) } });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('logs', () => {
  it('are structured and carry requestId, userId and organizationId', async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    const requestId = res.headers['x-request-id'];
    const mine = entries().filter((entry) => entry.requestId === requestId);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.find((entry) => entry.msg === 'request completed')).toMatchObject({
      userId: a.users.admin.id,
      organizationId: a.organizationId,
    });
  });

  it('name the user and organization of a refused request', async () => {
    const other = await createTenant(t.app);
    const forbidden = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/users' });
    expect(forbidden.statusCode).toBe(403);
    const completed = (requestId: unknown) =>
      entries().find((entry) => entry.requestId === requestId && entry.msg === 'request completed');
    expect(completed(forbidden.headers['x-request-id'])).toMatchObject({
      userId: a.users.nurse.id,
      organizationId: a.organizationId,
      role: 'nurse',
    });
    const elsewhere = await as(t.app, a.users.admin.token, { 'x-organization-id': other.organizationId })({
      method: 'GET',
      url: '/api/v1/users',
    });
    expect(elsewhere.statusCode).toBe(403);
    expect(completed(elsewhere.headers['x-request-id'])).toMatchObject({
      userId: a.users.admin.id,
      requestedOrganizationId: other.organizationId,
    });
  });

  it('never carry passwords, tokens, emails from bodies or query strings', async () => {
    lines.length = 0;
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: a.users.nurse.email, password: PASSWORD },
    });
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: a.users.nurse.email, password: 'wrong-password-xyz' },
    });
    await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/organizations?search=Jane%20Doe' });
    await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      payload: { email: 'patient-name@example.test', role: 'nurse' },
    });
    const all = lines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [
      PASSWORD,
      'wrong-password-xyz',
      a.users.nurse.token,
      a.users.admin.token,
      'Jane',
      'patient-name',
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
