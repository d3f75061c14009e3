import { eq } from 'drizzle-orm';
import { sessions } from '../src/platform/auth/auth.schema.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { as, buildTestApp, createTenant, PASSWORD, signIn, type Tenant, type TestApp } from './helpers/test-app.js';
import { enableTotp } from './helpers/two-factor.js';

let t: TestApp;
let a: Tenant;
let clock = new Date('2026-01-05T08:00:00Z').getTime();

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => new Date(clock) });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const signInAttempt = (email: string, password: string) =>
  t.app.inject({ method: 'POST', url: '/api/auth/sign-in/email', payload: { email, password } });

describe('sign-in', () => {
  it('returns a token usable as a bearer token', async () => {
    const res = await signInAttempt(a.users.doctor.email, PASSWORD);
    expect(res.statusCode).toBe(200);
    const profile = await as(t.app, res.json().token)({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.statusCode).toBe(200);
    expect(profile.json()).toMatchObject({ user: { email: a.users.doctor.email }, authMethod: 'bearer' });
  });

  it('sets a session cookie that authenticates later requests', async () => {
    const res = await signInAttempt(a.users.doctor.email, PASSWORD);
    const cookie = res.cookies.find((c) => c.name.endsWith('session_token'));
    expect(cookie?.httpOnly).toBe(true);
    const profile = await t.app.inject({
      method: 'GET',
      url: '/api/v1/profile',
      cookies: { [cookie!.name]: cookie!.value },
    });
    expect(profile.json().authMethod).toBe('session');
  });

  it('answers a wrong password with 401 in the error envelope, naming no account detail', async () => {
    const res = await signInAttempt(a.users.doctor.email, 'wrong-password-123');
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String) });
    expect(res.body).not.toContain(a.users.doctor.email);
  });

  it('stores the session in the database with the configured lifetime', async () => {
    const res = await signInAttempt(a.users.doctor.email, PASSWORD);
    const [row] = await t.database.db
      .select({ expiresAt: sessions.expiresAt })
      .from(sessions)
      .where(eq(sessions.token, res.json().token as string));
    const lifetime = (row!.expiresAt.getTime() - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(t.config.SESSION_TTL_SECONDS - 60);
    expect(lifetime).toBeLessThanOrEqual(t.config.SESSION_TTL_SECONDS);
  });

  it('ends the session on sign-out', async () => {
    const token = await signIn(t.app, a.users.operator.email);
    const out = await as(t.app, token)({ method: 'POST', url: '/api/auth/sign-out', payload: {} });
    expect(out.statusCode).toBe(200);
    const after = await as(t.app, token)({ method: 'GET', url: '/api/v1/profile' });
    expect(after.statusCode).toBe(401);
  });
});

describe('session lifetime', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Bearer tokens are looked up by Wardline directly and cookies by Better Auth's getSession: both
  // must slide and expire the same way.
  const credentials = async (kind: 'bearer' | 'cookie'): Promise<Record<string, string>> => {
    const res = await signInAttempt(a.users.nurse.email, PASSWORD);
    if (kind === 'bearer') return { authorization: `Bearer ${res.json().token}` };
    const cookie = res.cookies.find((c) => c.name.endsWith('session_token'))!;
    return { cookie: `${cookie.name}=${cookie.value}` };
  };
  const currentSession = async (headers: Record<string, string>) => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/profile/sessions?limit=100', headers });
    return res.json().data.find((s: { current: boolean }) => s.current) as { expiresAt: string };
  };

  for (const kind of ['bearer', 'cookie'] as const) {
    it(`extends a ${kind} session used after the refresh age, and ends it once it expires`, async () => {
      const start = Date.now();
      const headers = await credentials(kind);
      const ttl = t.config.SESSION_TTL_SECONDS * 1000;
      vi.useFakeTimers({ toFake: ['Date'] });

      vi.setSystemTime(start + (t.config.SESSION_REFRESH_SECONDS / 2) * 1000);
      // Not yet extended (sign-in itself took a moment after `start`).
      expect(Date.parse((await currentSession(headers)).expiresAt)).toBeLessThan(start + ttl + 60_000);

      const later = start + (t.config.SESSION_REFRESH_SECONDS + 60) * 1000;
      vi.setSystemTime(later);
      const extended = Date.parse((await currentSession(headers)).expiresAt);
      expect(extended).toBeGreaterThanOrEqual(later + ttl - 1000);

      vi.setSystemTime(extended + 1000);
      const expired = await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers });
      expect(expired.statusCode).toBe(401);
    });
  }
});

describe('brute-force protection', () => {
  it('locks an account after 5 failures in 15 minutes, even for the right password, then lifts it', async () => {
    const email = a.users.nurse.email;
    for (let i = 0; i < 5; i++) expect((await signInAttempt(email, `wrong-${i}-password`)).statusCode).toBe(401);

    const locked = await signInAttempt(email, PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);

    // Another account from the same address is unaffected.
    expect((await signInAttempt(a.users.manager.email, PASSWORD)).statusCode).toBe(200);

    clock += 901_000;
    expect((await signInAttempt(email, PASSWORD)).statusCode).toBe(200);
  });

  it('forgets failures after a successful sign-in', async () => {
    const email = a.users.operator.email;
    for (let i = 0; i < 4; i++) await signInAttempt(email, 'wrong-password-xx');
    expect((await signInAttempt(email, PASSWORD)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) await signInAttempt(email, 'wrong-password-xx');
    expect((await signInAttempt(email, PASSWORD)).statusCode).toBe(200);
  });

  it('limits sign-in attempts per client IP', async () => {
    const limited = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '3' });
    try {
      const attempt = () =>
        limited.app.inject({
          method: 'POST',
          url: '/api/auth/sign-in/email',
          payload: { email: 'nobody@example.test', password: 'whatever-password' },
        });
      for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
      const res = await attempt();
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json().error.code).toBe('RATE_LIMITED');
      // Other auth routes are not counted.
      expect((await limited.app.inject({ method: 'GET', url: '/api/auth/get-session' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('API keys', () => {
  it("authenticates a machine client with x-api-key, with the owner's role", async () => {
    const created = await as(
      t.app,
      a.users.manager.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'ward-display' },
    });
    expect(created.statusCode).toBe(200);
    const key = created.json().key as string;
    expect(key.startsWith('wl_')).toBe(true);

    const headers = { 'x-api-key': key };
    const profile = await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers });
    expect(profile.json().authMethod).toBe('api-key');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers })).statusCode).toBe(200);
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers: { 'x-api-key': 'wl_not-a-key' } });
    expect(bad.statusCode).toBe(401);
  });

  it('serves a busy machine client (no 10-a-day plugin default) but never stands in for a session', async () => {
    const created = await as(
      t.app,
      a.users.doctor.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'bed-board' },
    });
    const headers = { 'x-api-key': created.json().key as string };
    for (let i = 0; i < 15; i++) {
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/profile', headers })).statusCode).toBe(200);
    }
    const session = await t.app.inject({ method: 'GET', url: '/api/auth/get-session', headers });
    expect(session.json()).toBeNull();
    const change = await t.app.inject({
      method: 'POST',
      url: '/api/auth/change-password',
      headers,
      payload: { currentPassword: PASSWORD, newPassword: 'attacker-chosen-password' },
    });
    expect(change.statusCode).toBe(401);
  });
});

describe('two-factor (TOTP)', () => {
  it('once enabled, sign-in needs the current code', async () => {
    const tenant = await createTenant(t.app);
    const { email, token } = tenant.users.doctor;
    const totp = await enableTotp(t.app, token);

    const first = await signInAttempt(email, PASSWORD);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ twoFactorRedirect: true });
    expect(first.json().token).toBeUndefined();
    const challenge = Object.fromEntries(first.cookies.map((c) => [c.name, c.value]));

    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/two-factor/verify-totp',
      payload: { code: '000000' },
      cookies: challenge,
    });
    expect(wrong.statusCode).toBe(401);

    const second = await t.app.inject({
      method: 'POST',
      url: '/api/auth/two-factor/verify-totp',
      payload: { code: totp.generate() },
      cookies: challenge,
    });
    expect(second.statusCode).toBe(200);
    const profile = await as(t.app, second.json().token)({ method: 'GET', url: '/api/v1/profile' });
    expect(profile.statusCode).toBe(200);
  });
});

describe('self sign-up', () => {
  it('is closed without an invitation', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-up/email',
      payload: { email: 'walk-in@example.test', password: PASSWORD, name: 'Walk In' },
    });
    expect(res.statusCode).toBe(403);
  });
});
