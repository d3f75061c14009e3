import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents } from '../src/platform/audit/audit.schema.js';
import { insertPatient } from './helpers/encounters-fixtures.js';
import { AUDIT_INSERT, countQueries, ownQueries } from './helpers/query-counter.js';
import { as, buildTestApp, createTenant, PASSWORD, signIn, type Tenant, type TestApp } from './helpers/test-app.js';

// The warm audited patient read answers from memory: session (or API key), memberships and the
// record from the cache; its only statement is the group commit's audit insert, shared with the
// requests answered at the same time.

let t: TestApp;
let a: Tenant;
let key: string;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
  const created = await as(
    t.app,
    a.users.doctor.token,
  )({
    method: 'POST',
    url: '/api/auth/api-key/create',
    payload: { name: 'warm path' },
  });
  key = created.json().key as string;
});
afterAll(() => t.close());

describe('the warm patient read', () => {
  for (const method of ['bearer token', 'API key'] as const) {
    it(`makes no database round trip of its own with a ${method}`, async () => {
      const id = await insertPatient(t.app, a);
      const headers = method === 'API key' ? { 'x-api-key': key } : { authorization: `Bearer ${a.users.doctor.token}` };
      const read = () => t.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers });
      // Warm-up: the first reads fill the caches (an API key is trusted from its second verification).
      for (let i = 0; i < 3; i++) expect((await read()).statusCode).toBe(200);
      await t.app.auditLog.drain();

      const counter = countQueries(t.database);
      try {
        const answers = await Promise.all(Array.from({ length: 8 }, read));
        expect(answers.map((answer) => answer.statusCode)).toEqual(Array(8).fill(200));
        await t.app.auditLog.drain();
        expect(ownQueries(counter.texts)).toEqual([]);
        // Eight concurrent reads share the group commit's inserts (one, or a few when the requests
        // reach it over several event-loop turns).
        const inserts = counter.texts.filter((text) => AUDIT_INSERT.test(text)).length;
        expect(inserts).toBeGreaterThanOrEqual(1);
        expect(inserts).toBeLessThanOrEqual(4);
      } finally {
        counter.restore();
      }
    });
  }

  it('takes the signed token of set-auth-token on the same path, without Better Auth; a bad signature is refused', async () => {
    const id = await insertPatient(t.app, a);
    const signedIn = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: a.users.nurse.email, password: PASSWORD },
    });
    const signed = signedIn.headers['set-auth-token'] as string;
    const token = signedIn.json<{ token: string }>().token;
    expect(decodeURIComponent(signed).startsWith(`${token}.`)).toBe(true);
    const read = (authorization: string) =>
      t.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers: { authorization } });
    const getSession = vi.spyOn(t.app.auth.api, 'getSession');
    try {
      for (const form of [signed, decodeURIComponent(signed)]) {
        expect((await read(`Bearer ${form}`)).statusCode).toBe(200);
      }
      expect(getSession).not.toHaveBeenCalled();
      await t.app.auditLog.drain();
      const counter = countQueries(t.database);
      try {
        expect((await read(`Bearer ${signed}`)).statusCode).toBe(200);
        await t.app.auditLog.drain();
        expect(ownQueries(counter.texts)).toEqual([]);
      } finally {
        counter.restore();
      }
      // Another signature (a character in its middle changed: the last one's low bits are padding, so
      // some changes there decode to the same bytes), or one of another token: Better Auth refuses.
      const plain = decodeURIComponent(signed);
      const at = plain.indexOf('.') + 20;
      const tampered = `${plain.slice(0, at)}${plain[at] === 'A' ? 'B' : 'A'}${plain.slice(at + 1)}`;
      const otherToken = `${a.users.doctor.token}${plain.slice(plain.indexOf('.'))}`;
      for (const bad of [tampered, otherToken, `${token}.`, `${token}.%E0%A4%A`]) {
        expect((await read(`Bearer ${bad}`)).statusCode).toBe(401);
      }
      expect(getSession).toHaveBeenCalled();
    } finally {
      getSession.mockRestore();
    }
  });

  it('puts a session read from the database back in the cache (evicted, or made before a restart)', async () => {
    const id = await insertPatient(t.app, a);
    const read = () => as(t.app, a.users.manager.token)({ method: 'GET', url: `/api/v1/patients/${id}` });
    expect((await read()).statusCode).toBe(200);
    await t.app.cache.namespace('auth').delete({ key: a.users.manager.token });
    await t.app.auditLog.drain();
    const counter = countQueries(t.database);
    try {
      expect((await read()).statusCode).toBe(200); // reads the session from the database once
      await t.app.auditLog.drain();
      expect(ownQueries(counter.texts).length).toBeGreaterThan(0);
      counter.reset();
      expect((await read()).statusCode).toBe(200);
      await t.app.auditLog.drain();
      expect(ownQueries(counter.texts)).toEqual([]);
    } finally {
      counter.restore();
    }
  });

  // A warm bearer token skips Better Auth's parsing of its cached session (SessionStore.findSession);
  // ending the session must still refuse its very next request.
  it('stops a warm bearer token at once when its session ends', async () => {
    const id = await insertPatient(t.app, a);
    const endings = {
      'signed out': async (token: string) => {
        await as(t.app, token)({ method: 'POST', url: '/api/auth/sign-out', payload: {} });
      },
      'revoked from another session': async (token: string) => {
        const sessions = await as(t.app, token)({ method: 'GET', url: '/api/v1/profile/sessions?limit=100' });
        const current = sessions.json().data.find((s: { current: boolean }) => s.current) as { id: string };
        const other = await signIn(t.app, a.users.operator.email);
        const res = await as(t.app, other)({ method: 'DELETE', url: `/api/v1/profile/sessions/${current.id}` });
        expect(res.statusCode).toBe(204);
      },
    };
    for (const [ending, end] of Object.entries(endings)) {
      const token = await signIn(t.app, a.users.operator.email);
      const read = () => as(t.app, token)({ method: 'GET', url: '/api/v1/profile' });
      for (let i = 0; i < 3; i++) expect((await read()).statusCode, ending).toBe(200);
      await end(token);
      expect((await read()).statusCode, ending).toBe(401);
      expect((await as(t.app, token)({ method: 'GET', url: `/api/v1/patients/${id}` })).statusCode, ending).toBe(401);
    }
  });

  it('still has its audit event durable before the answer', async () => {
    const id = await insertPatient(t.app, a);
    const read = () => as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/patients/${id}` });
    expect((await read()).statusCode).toBe(200);
    const before = await t.app.database.db.select().from(auditEvents).where(eq(auditEvents.patientId, id));
    expect((await read()).statusCode).toBe(200); // a cache hit
    // No drain: the answer left only once its event was written.
    const after = await t.app.database.db.select().from(auditEvents).where(eq(auditEvents.patientId, id));
    expect(after.length).toBe(before.length + 1);
    expect(after.every((event) => event.action === 'patients.read')).toBe(true);
  });

  it('counts hits and misses per namespace', async () => {
    const id = await insertPatient(t.app, a);
    const before = t.app.cache.stats().patients ?? { hits: 0, misses: 0 };
    for (let i = 0; i < 3; i++) {
      expect((await as(t.app, a.users.doctor.token)({ method: 'GET', url: `/api/v1/patients/${id}` })).statusCode).toBe(
        200,
      );
    }
    const after = t.app.cache.stats().patients!;
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(2);
  });
});
