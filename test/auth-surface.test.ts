import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
  PASSWORD,
  signIn,
  type Tenant,
  type TestApp,
} from './helpers/test-app.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ SIGNIN_MAX_FAILURES: '3', SIGNIN_IP_LIMIT_PER_MINUTE: '50' });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

describe('the Better Auth surface', () => {
  it.each([
    ['GET', '/api/auth/organization/list-members'],
    ['GET', '/api/auth/organization/list-invitations'],
    ['GET', '/api/auth/organization/get-full-organization'],
    ['POST', '/api/auth/organization/update'],
    ['POST', '/api/auth/organization/update-member-role'],
    ['POST', '/api/auth/organization/invite-member'],
    ['POST', '/api/auth/organization/remove-member'],
    ['POST', '/api/auth/organization/check-slug'],
    ['POST', '/api/auth/update-user'],
    ['POST', '/api/auth/admin/impersonate-user'],
    ['GET', '/api/auth/open-api/generate-schema'],
    // They return session tokens; /api/v1/profile/sessions lists and ends sessions by id.
    ['GET', '/api/auth/list-sessions'],
    ['POST', '/api/auth/revoke-session'],
    // Needs a verified email, which invited accounts do not have; the invitation token is the way in.
    ['GET', '/api/auth/organization/list-user-invitations'],
  ])('does not expose %s %s (it bypasses the permission table)', async (method, url) => {
    const res = await as(t.app, a.users.admin.token)({ method: method, url, payload: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });

  it('never reaches a password check through a non-canonical spelling of sign-in', async () => {
    // Over a real socket: an HTTP client such as app.inject would normalize these paths itself.
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const post = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ email: a.users.nurse.email, password: 'wrong-password-123' });
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    for (const path of [
      '/api/auth/sign-in\\email',
      '/api/auth/sign-in/./email',
      '/api/auth/x/../sign-in/email',
      '/api/auth/sign-in/%2e/email',
      '/api/auth/sign-in/email/',
      '/api/auth//sign-in/email',
    ]) {
      expect([404, 405], path).toContain(await post(path));
    }
  });

  it('counts concurrent wrong guesses: no more than the limit get a password check', async () => {
    const email = a.users.doctor.email;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/api/auth/sign-in/email',
          payload: { email, password: `guess-${i}-xxxxxx` },
        }),
      ),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
  });

  it('records the client address on the session', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      remoteAddress: '127.0.0.9',
      headers: { 'x-wardline-client-ip': '6.6.6.6', 'x-forwarded-for': '7.7.7.7' },
      payload: { email: a.users.operator.email, password: PASSWORD },
    });
    const sessions = await as(t.app, res.json().token)({ method: 'GET', url: '/api/v1/profile/sessions' });
    expect(sessions.json().data).toContainEqual(expect.objectContaining({ current: true, ipAddress: '127.0.0.9' }));
  });

  it.each([
    ['POST', '/api/auth/sign-up/email', { email: 'a\u0000@example.test', password: PASSWORD, name: 'x' }],
    ['POST', '/api/auth/api-key/create', { name: 'key\u0000' }],
    ['POST', '/api/auth/api-key/delete', { keyId: 'a\u0000b' }],
    ['GET', '/api/auth/api-key/get?id=a%00b', undefined],
    ['POST', '/api/auth/organization/set-active', { organizationId: 'a\u0000b' }],
    ['POST', '/api/auth/organization/accept-invitation', { invitationId: 'a\u0000b', invitationToken: 'x' }],
    ['POST', '/api/auth/sign-in/email', { email: 'a\u0000@example.test', password: 'whatever-password' }],
  ] as const)('answers a NUL byte in %s %s with 400', async (method, url, payload) => {
    const res = await as(t.app, a.users.admin.token)({ method, url, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('lets no client choose an API key prefix or set an unknown platform role', async () => {
    const key = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'ci', prefix: 'sk_live_' },
    });
    expect(key.statusCode).toBe(400);
    const root = await createPlatformAdmin(t.app);
    const call = as(t.app, root.token);
    for (const role of ['doctor', ['user', 'superuser'], ['user', 'admin'], [], 42]) {
      const res = await call({
        method: 'POST',
        url: '/api/auth/admin/set-role',
        payload: { userId: a.users.nurse.id, role },
      });
      expect(res.statusCode, JSON.stringify(role)).toBe(400);
    }
    const ok = await call({
      method: 'POST',
      url: '/api/auth/admin/set-role',
      payload: { userId: a.users.nurse.id, role: 'user' },
    });
    expect(ok.statusCode).toBe(200);
    for (const extra of [{ role: 'superuser' }, { role: ['user', 'admin'] }, { data: { role: 'superuser' } }]) {
      const created = await call({
        method: 'POST',
        url: '/api/auth/admin/create-user',
        payload: { email: 'odd-role@example.test', password: PASSWORD, name: 'Odd', ...extra },
      });
      expect(created.statusCode, JSON.stringify(extra)).toBe(400);
    }
    const listed = await call({ method: 'GET', url: '/api/auth/admin/list-users?searchValue=odd-role' });
    expect(listed.json().users).toEqual([]);
  });

  it('ends every session and API key of an account whose password a platform admin sets', async () => {
    const root = await createPlatformAdmin(t.app);
    const other = await createTenant(t.app);
    const victim = other.users.operator;
    const stolen = await signIn(t.app, victim.email);
    const bystander = as(t.app, other.users.nurse.token);
    expect((await as(t.app, stolen)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    const planted = await as(
      t.app,
      stolen,
    )({ method: 'POST', url: '/api/auth/api-key/create', payload: { name: 'planted' } });
    const key = planted.json<{ key: string }>().key;
    const withKey = () => t.app.inject({ method: 'GET', url: '/api/v1/profile', headers: { 'x-api-key': key } });
    expect((await withKey()).statusCode).toBe(200);
    const set = await as(
      t.app,
      root.token,
    )({
      method: 'POST',
      url: '/api/auth/admin/set-user-password',
      payload: { userId: victim.id, newPassword: 'a-brand-new-password-456' },
    });
    expect(set.statusCode).toBe(200);
    for (const token of [stolen, victim.token]) {
      expect((await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
    }
    expect((await withKey()).statusCode).toBe(401);
    expect((await bystander({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    await signIn(t.app, victim.email, 'a-brand-new-password-456');
  });

  it('keeps Better Auth off the console: its errors go to the structured log', async () => {
    const writes = [vi.spyOn(console, 'error'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'log')];
    try {
      await t.app.inject({
        method: 'POST',
        url: '/api/auth/sign-up/email',
        payload: { email: 'stranger@example.test', password: PASSWORD, name: 'Stranger' },
      });
      await as(
        t.app,
        a.users.admin.token,
      )({
        method: 'POST',
        url: '/api/auth/organization/set-active',
        payload: { organizationId: 'no-such-organization' },
      });
      for (const spy of writes) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of writes) spy.mockRestore();
    }
  });
});

describe('password checks behind the per-account lockout', () => {
  it('locks change-password after the same number of wrong passwords as sign-in, and sign-in with it', async () => {
    const user = a.users.manager;
    const call = as(t.app, await signIn(t.app, user.email));
    const change = (currentPassword: string) =>
      call({
        method: 'POST',
        url: '/api/auth/change-password',
        payload: { currentPassword, newPassword: 'another-long-password-1' },
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await change(`wrong-password-${i}`)).statusCode);
    expect(statuses).toEqual([400, 400, 400, 429]);
    const locked = await change(PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    const signInAttempt = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: user.email, password: PASSWORD },
    });
    expect(signInAttempt.statusCode).toBe(429);
  });
});

describe('TRUST_PROXY', () => {
  it('ignores X-Forwarded-For unless proxies are configured, so the per-IP limit cannot be dodged', async () => {
    const limited = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.app.inject({
          method: 'POST',
          url: '/api/auth/sign-in/email',
          headers: { 'x-forwarded-for': `10.0.0.${i}` },
          payload: { email: 'nobody@example.test', password: 'whatever-password' },
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('errors before routing', () => {
  it('answers oversized headers with 431 in the error envelope', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => t.app.listeningOrigin);
    const res = await fetch(`${address}/health`, { headers: { 'x-padding': 'x'.repeat(20_000) } });
    expect(res.status).toBe(431);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("gives Better Auth's validation failures the same details as /api/v1's", async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: 'not-an-email', password: 12345 },
    });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('the body is not valid');
    expect(error.details.map((d: { path: string }) => d.path)).toContain('body.password');
    for (const detail of error.details) expect(detail.message).not.toMatch(/^\[/);
  });
});
