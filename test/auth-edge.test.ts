import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../src/platform/http/json-body.js';
import { enableTotp } from './helpers/two-factor.js';
import {
  as,
  buildTestApp,
  createPlatformAdmin,
  createTenant,
  PASSWORD,
  type Tenant,
  type TestApp,
} from './helpers/test-app.js';

const lines: string[] = [];
let t: TestApp;
let a: Tenant;
let base: string;

beforeAll(async () => {
  t = await buildTestApp(
    { LOG_LEVEL: 'info', SIGNIN_IP_LIMIT_PER_MINUTE: '1000' },
    { logStream: { write: (line) => lines.push(line) } },
  );
  a = await createTenant(t.app);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

const totpOf = (uri: string) => OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number });
const logsOf = (requestId: string | null) => logs().filter((entry) => entry.requestId === requestId);

/** A client with a cookie jar and no Origin, as curl -c/-b, requests.Session or Postman are. */
function cookieJarClient() {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const send = async (
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(jar.size ? { cookie: cookieHeader() } : {}),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, value = ''] = pair!.split('=');
      if (/max-age=0/i.test(cookie) || value === '') jar.delete(name!);
      else jar.set(name!, value);
    }
    return response;
  };
  return Object.assign(send, { cookieHeader });
}

describe('clients without an Origin header (curl, Node fetch, Python, Postman)', () => {
  it('sign in, list sessions, change the password, sign in again and sign out, with a cookie jar', async () => {
    const tenant = await createTenant(t.app);
    const { email } = tenant.users.nurse;
    const client = cookieJarClient();
    expect((await client('/api/auth/sign-in/email', { body: { email, password: PASSWORD } })).status).toBe(200);
    expect((await client('/api/auth/sign-in/email', { body: { email, password: PASSWORD } })).status).toBe(200);
    expect((await client('/api/v1/profile/sessions', { method: 'GET' })).status).toBe(200);
    const newPassword = 'a-brand-new-password-42';
    const changed = await client('/api/auth/change-password', {
      body: { currentPassword: PASSWORD, newPassword, revokeOtherSessions: true },
    });
    expect(changed.status).toBe(200);
    expect((await client('/api/auth/sign-out', { body: {} })).status).toBe(200);
    expect((await client('/api/v1/profile', { method: 'GET' })).status).toBe(401);
    expect((await client('/api/auth/sign-in/email', { body: { email, password: newPassword } })).status).toBe(200);
  });

  it('use two-factor with a cookie jar: enable, verify, and the sign-in challenge', async () => {
    const tenant = await createTenant(t.app);
    const { email } = tenant.users.doctor;
    const client = cookieJarClient();
    await client('/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    const enabled = await client('/api/auth/two-factor/enable', { body: { password: PASSWORD } });
    expect(enabled.status).toBe(200);
    const totp = totpOf(((await enabled.json()) as { totpURI: string }).totpURI);
    expect((await client('/api/auth/two-factor/verify-totp', { body: { code: totp.generate() } })).status).toBe(200);

    const again = cookieJarClient();
    const first = await again('/api/auth/sign-in/email', { body: { email, password: PASSWORD } });
    expect(await first.json()).toMatchObject({ twoFactorRedirect: true });
    const second = await again('/api/auth/two-factor/verify-totp', { body: { code: totp.generate() } });
    expect(second.status).toBe(200);
    expect((await again('/api/v1/profile', { method: 'GET' })).status).toBe(200);
  });

  it('bearer tokens and API keys never need one, even beside a foreign Origin', async () => {
    const headers = { authorization: `Bearer ${a.users.admin.token}`, origin: 'https://evil.example' };
    const key = await fetch(`${base}/api/auth/api-key/create`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lab bridge' }),
    });
    expect(key.status).toBe(200);
    const apiKey = ((await key.json()) as { key: string }).key;
    const viaKey = await fetch(`${base}/api/v1/users`, { headers: { 'x-api-key': apiKey } });
    expect(viaKey.status).toBe(200);
  });
});

describe('CSRF: a write authenticated by the session cookie', () => {
  async function cookieSession() {
    const tenant = await createTenant(t.app);
    const client = cookieJarClient();
    await client('/api/auth/sign-in/email', { body: { email: tenant.users.admin.email, password: PASSWORD } });
    return { tenant, client };
  }

  it('is refused from a foreign Origin on /api/auth, and changes nothing', async () => {
    const { client } = await cookieSession();
    const res = await client('/api/auth/sign-out', { body: {}, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    expect((await client('/api/v1/profile', { method: 'GET' })).status).toBe(200);
  });

  it('is refused from a foreign Origin on /api/v1, and changes nothing', async () => {
    const { tenant, client } = await cookieSession();
    const res = await client(`/api/v1/users/${tenant.users.nurse.id}/role`, {
      method: 'PATCH',
      body: { role: 'admin' },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    const users = await as(t.app, tenant.users.admin.token)({ method: 'GET', url: '/api/v1/users' });
    expect(users.json().data.find((u: { id: string }) => u.id === tenant.users.nurse.id).role).toBe('nurse');
  });

  it('is refused with Sec-Fetch-Site: cross-site, with Origin "null", and with a foreign Referer', async () => {
    const { client } = await cookieSession();
    for (const headers of [{ origin: 'null' }, { referer: 'https://evil.example/page' }] as Record<string, string>[]) {
      expect((await client('/api/auth/revoke-other-sessions', { body: {}, headers })).status).toBe(403);
    }
    // inject, because fetch does not let a script set Sec-Fetch-* headers (only browsers do).
    const crossSite = await t.app.inject({
      method: 'POST',
      url: '/api/auth/revoke-other-sessions',
      headers: { cookie: client.cookieHeader(), 'sec-fetch-site': 'cross-site' },
      payload: {},
    });
    expect(crossSite.statusCode).toBe(403);
    expect((await client('/api/v1/profile', { method: 'GET' })).status).toBe(200);
  });

  it('passes from the server itself and from a same-origin page', async () => {
    const { client } = await cookieSession();
    // The server's own origin is PUBLIC_URL's (here the default, whatever port the test listens on).
    const own = await client('/api/auth/revoke-other-sessions', { body: {}, headers: { origin: t.config.publicUrl } });
    expect(own.status).toBe(200);
    const sameOrigin = await client('/api/auth/revoke-other-sessions', {
      body: {},
      headers: { origin: 'http://wardline.test:5000', 'sec-fetch-site': 'same-origin' },
    });
    expect(sameOrigin.status).toBe(200);
  });

  it('refuses a cross-site form that signs someone in (login CSRF)', async () => {
    // inject, because fetch does not let a script set Sec-Fetch-* headers (only browsers do).
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
      payload: { email: a.users.nurse.email, password: PASSWORD },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
  });
});

describe('JSON nesting', () => {
  const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;

  it('is bounded on every route: 400 in the envelope, nothing logged above info', async () => {
    for (const url of ['/api/auth/sign-in/email', '/api/auth/sign-up/email', '/api/v1/invitations']) {
      const res = await as(
        t.app,
        url.startsWith('/api/v1') ? a.users.admin.token : undefined,
      )({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: deep,
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.message).toMatch(/nests deeper than 64/);
      expect(logsOf(res.headers['x-request-id'] as string).every((entry) => entry.level <= 30)).toBe(true);
    }
  });

  it('is counted outside strings only', () => {
    expect(nestsDeeperThan(JSON.stringify({ note: '['.repeat(500) }), 3)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ note: '"\\"[[' }), 1)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
  });
});

describe('the two-factor enable step', () => {
  it('answers with the token that works and twoFactorEnabled: true', async () => {
    const tenant = await createTenant(t.app);
    const call = as(t.app, tenant.users.doctor.token);
    const enabled = await call({ method: 'POST', url: '/api/auth/two-factor/enable', payload: { password: PASSWORD } });
    const totp = totpOf(enabled.json().totpURI);
    const verified = await call({
      method: 'POST',
      url: '/api/auth/two-factor/verify-totp',
      payload: { code: totp.generate() },
    });
    expect(verified.statusCode).toBe(200);
    const body = verified.json();
    expect(body.user.twoFactorEnabled).toBe(true);
    expect(body.token).not.toBe(tenant.users.doctor.token);
    expect((await as(t.app, body.token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    expect((await call({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
  });

  it('locks out after repeated wrong codes with a Retry-After', async () => {
    const tenant = await createTenant(t.app);
    await enableTotp(t.app, tenant.users.nurse.token);
    // Each challenge allows a few codes; the account locks after ten wrong ones across challenges.
    let last = { statusCode: 0, headers: {} as Record<string, unknown> };
    for (let challenge = 0; challenge < 8 && last.statusCode !== 429; challenge++) {
      const signIn = await t.app.inject({
        method: 'POST',
        url: '/api/auth/sign-in/email',
        payload: { email: tenant.users.nurse.email, password: PASSWORD },
      });
      const cookies = Object.fromEntries(signIn.cookies.map((c) => [c.name, c.value]));
      for (let attempt = 0; attempt < 3 && last.statusCode !== 429; attempt++) {
        last = await t.app.inject({
          method: 'POST',
          url: '/api/auth/two-factor/verify-totp',
          payload: { code: '000000' },
          cookies,
        });
      }
    }
    expect(last.statusCode).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('refused input in the logs', () => {
  it('an unknown API key is a 401 logged at info with the request id, never at error', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers: { 'x-api-key': 'wl_nope' } });
    expect(res.statusCode).toBe(401);
    expect(logsOf(res.headers['x-request-id'] as string).some((entry) => entry.msg === 'request rejected')).toBe(true);
    expect(logs().filter((entry) => entry.level >= 50)).toEqual([]);
  });

  it("an untrusted callbackURL is refused and logged without the caller's text", async () => {
    const marker = `https://evil-${randomBytes(4).toString('hex')}.example/`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: a.users.nurse.email, password: PASSWORD, callbackURL: marker },
    });
    expect(res.statusCode).toBe(403);
    expect(logsOf(res.headers['x-request-id'] as string).some((entry) => entry.msg === 'request rejected')).toBe(true);
    expect(lines.some((line) => line.includes(marker))).toBe(false);
    expect(logs().filter((entry) => entry.level >= 50)).toEqual([]);
  });
});

describe('organization names and slugs', () => {
  it('refuses bidirectional and control characters in a name', async () => {
    for (const name of ['Evil\u202Eclinic', 'Two\nlines', 'Iso\u2066late']) {
      const res = await as(
        t.app,
        a.users.admin.token,
      )({
        method: 'PATCH',
        url: `/api/v1/organizations/${a.organizationId}`,
        payload: { name },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('body.name');
    }
  });

  it("does not let an organization admin probe other tenants' slugs; a platform admin changes them", async () => {
    const b = await createTenant(t.app);
    for (const slug of [b.slug, `free-${randomBytes(3).toString('hex')}`]) {
      const res = await as(
        t.app,
        a.users.admin.token,
      )({
        method: 'PATCH',
        url: `/api/v1/organizations/${a.organizationId}`,
        payload: { slug },
      });
      expect(res.statusCode).toBe(403);
    }
    const root = await createPlatformAdmin(t.app);
    const renamed = await as(
      t.app,
      root.token,
    )({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: { slug: `${a.slug}-renamed` },
    });
    expect(renamed.statusCode).toBe(200);
  });
});
