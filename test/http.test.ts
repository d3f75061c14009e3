import { once } from 'node:events';
import { connect } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, registerErrorHandling } from '../src/platform/http/errors.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ BODY_LIMIT_BYTES: '2048', CORS_ORIGINS: 'https://ward.example.test' });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const envelope = { error: { code: expect.any(String), message: expect.any(String), requestId: expect.any(String) } };

describe('the error envelope', () => {
  it('answers an unknown route with 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here?name=Jane%20Doe' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject(envelope);
    expect(res.json().error.code).toBe('NOT_FOUND');
    expect(res.body).not.toContain('Jane');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'PUT', url: '/api/v1/users' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.json().error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers a path that only looks like a route with 404, not 405', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/profile/'],
      ['POST', '/api/auth/sign-in/email/'],
      ['GET', '/api/docs/static/no-such-file.js'],
    ] as const) {
      const res = await as(t.app, a.users.admin.token)({ method, url, payload: method === 'POST' ? {} : undefined });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
  });

  it('answers a body over the limit with 413 and changes nothing', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      payload: { email: 'big@example.test', role: 'nurse', padding: 'x'.repeat(4096) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    const pending = await as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/invitations' });
    expect(pending.json().data).toEqual([]);
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      headers: { 'content-type': 'text/plain' },
      payload: 'email=x',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers malformed JSON with 400', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('lists every validation problem with its path', async () => {
    const res = await as(t.app, a.users.admin.token)({ method: 'POST', url: '/api/v1/invitations', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(['body.email', 'body.role']);
    expect(res.json().error.message).toBe('the body is not valid');
  });

  it('names the whole body, or the path parameters, in plain words', async () => {
    const call = as(t.app, a.users.admin.token);
    const whole = await call({ method: 'POST', url: '/api/v1/invitations', payload: [] });
    expect(whole.json().error.details).toEqual([{ path: 'body', message: expect.any(String) }]);
    const param = await call({ method: 'DELETE', url: '/api/v1/users/not%20an%20id' });
    expect(param.json().error.message).toBe('the path parameters are not valid');
  });

  it('hides internals of a 5xx and never echoes the data that caused it', async () => {
    const bare = Fastify({ logger: false });
    registerErrorHandling(bare);
    bare.get('/boom', () => {
      throw new Error('patient Jane Doe born 1970-01-01 broke it');
    });
    bare.get('/typed', () => {
      throw new AppError('CONFLICT', 'already there');
    });
    bare.get('/typed-internal', () => {
      throw new AppError('INTERNAL', 'lookup of patient Jane Doe failed');
    });
    const res = await bare.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    expect(res.body).not.toMatch(/Jane|1970|at |\.ts/);
    expect((await bare.inject({ method: 'GET', url: '/typed' })).statusCode).toBe(409);
    const typed = await bare.inject({ method: 'GET', url: '/typed-internal' });
    expect(typed.json().error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    await bare.close();
  });
});

describe('request ids', () => {
  it('generates one and echoes it in the response and the error body', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/profile' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json().error.requestId).toBe(res.headers['x-request-id']);
  });

  it('honours a well-formed x-request-id and replaces a malformed one', async () => {
    const good = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'lb-7f3a9c2e.1' } });
    expect(good.headers['x-request-id']).toBe('lb-7f3a9c2e.1');
    const bad = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': '<script>' } });
    expect(bad.headers['x-request-id']).not.toBe('<script>');
  });
});

describe('shutdown', () => {
  it('answers a request that arrives while shutting down with 503 in the envelope', async () => {
    const own = await buildTestApp();
    const { port } = new URL(await own.app.listen({ port: 0, host: '127.0.0.1' }));
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const ended = once(socket, 'close');
    // A request whose body is still arriving keeps its connection open through the shutdown.
    const started = once(own.app.server, 'request');
    socket.write(
      'POST /api/v1/invitations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Length: 2\r\n\r\n{',
    );
    await started;
    const closed = own.close();
    while (own.app.server.listening) await new Promise((resolve) => setImmediate(resolve));
    // The rest of that body, then a second request on the same connection.
    socket.write('}GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await ended;
    await closed;
    const responses = received.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 401/);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(responses[1]!.toLowerCase()).toContain('connection: close');
    expect(responses[1]!.toLowerCase()).toContain('x-content-type-options: nosniff');
    const body = JSON.parse(responses[1]!.slice(responses[1]!.indexOf('\r\n\r\n') + 4));
    expect(body).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE', requestId: expect.any(String) } });
  });
});

describe('security defaults', () => {
  it("sends an API's security headers and no-store on API responses", async () => {
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/profile' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    // Also on errors answered before any route runs.
    const missing = await t.app.inject({ method: 'GET', url: '/no-such-route' });
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    const auth = await t.app.inject({ method: 'GET', url: '/api/auth/get-session' });
    expect(auth.headers['cache-control']).toContain('no-store');
    // The headers that only a rendered page needs stay with the docs UI.
    expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
    expect(res.headers['x-xss-protection']).toBeUndefined();
  });

  it("gives the docs UI, a page, helmet's document headers", async () => {
    const page = await t.app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('allows CORS only from the allowlist', async () => {
    const preflight = (origin: string) =>
      t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/profile',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    const allowed = await preflight('https://ward.example.test');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://ward.example.test');
    // Browsers on an allowed origin can change and delete records too.
    expect(allowed.headers['access-control-allow-methods']?.split(/, */)).toEqual(
      expect.arrayContaining(['PATCH', 'DELETE', 'PUT']),
    );
    const denied = await preflight('https://evil.example.test');
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    // Auth responses keep our exposed headers too (Better Auth's own CORS headers are not relayed).
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      headers: { origin: 'https://ward.example.test' },
      payload: { email: a.users.nurse.email, password: 'wrong-password-123' },
    });
    expect(signIn.headers['access-control-expose-headers']).toContain('x-request-id');
  });

  it('compresses large responses when asked', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/docs/openapi.json',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.headers['content-encoding']).toBe('gzip');
  });
});

describe('hostile input', () => {
  it('answers crafted cursors with 400, not 500', async () => {
    const call = as(t.app, a.users.admin.token);
    for (const parts of [
      ['abc', 'x'],
      ['2020-01-01', 'a\u0000b'],
      [1, 2],
      // JavaScript can parse these dates; PostgreSQL cannot store them.
      ['+275760-09-13T00:00:00.000Z', 'x'],
      ['200000-01-01', 'x'],
      ['2020-01-01', 'x'],
      ['2020-02-30T00:00:00.000Z', 'x'],
    ]) {
      const cursor = Buffer.from(JSON.stringify(parts)).toString('base64url');
      for (const url of ['/api/v1/users', '/api/v1/organizations', '/api/v1/invitations']) {
        const res = await call({ method: 'GET', url: `${url}?cursor=${cursor}` });
        expect(res.statusCode, `${url} ${JSON.stringify(parts)}`).toBe(400);
      }
    }
  });

  it('answers NUL bytes in ids and bodies with 400, not 500', async () => {
    const call = as(t.app, a.users.admin.token);
    expect((await call({ method: 'GET', url: '/api/v1/organizations/a%00b' })).statusCode).toBe(400);
    const role = await call({ method: 'PATCH', url: '/api/v1/users/a%00b/role', payload: { role: 'nurse' } });
    expect(role.statusCode).toBe(400);
    expect(role.json().error.details).toEqual([{ path: 'params.id', message: 'is not a valid id' }]);
    const res = await call({
      method: 'PATCH',
      url: `/api/v1/organizations/${a.organizationId}`,
      payload: { name: 'ab\u0000cd' },
    });
    expect(res.statusCode).toBe(400);
  });

  it('explains an empty JSON body', async () => {
    const res = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('empty');
  });
});
