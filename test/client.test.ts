import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createWardlineClient,
  retryAfterMs,
  retryingFetch,
  signIn,
  WardlineError,
} from '../packages/client/src/index.js';
import { ROLES } from '../src/platform/permissions.js';
import { CLIENT_TYPES_FILE, renderClientTypes } from '../scripts/client-types.js';
import { buildTestApp, createTenant, PASSWORD, type Tenant, type TestApp } from './helpers/test-app.js';
import { enableTotp } from './helpers/two-factor.js';

let t: TestApp;
let baseUrl: string;
let tenant: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  tenant = await createTenant(t.app);
});
afterAll(() => t?.close());

/** Signs in through the client; fails the test if two-factor is asked for. */
async function tokenOf(email: string) {
  const result = await signIn(baseUrl, email, PASSWORD);
  if (result.status !== 'signed-in') throw new Error(`${email} was asked for a second factor`);
  return result.token;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<WardlineError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(WardlineError);
  return error as WardlineError;
}

describe('the generated types', () => {
  it('match the OpenAPI document the server serves', async () => {
    const document = (await (await fetch(`${baseUrl}/api/docs/openapi.json`)).json()) as OpenAPI3;
    const expected = await renderClientTypes(document);
    const committed = await readFile(CLIENT_TYPES_FILE, 'utf8').catch(() => '');
    const [ours, theirs] = [committed.split('\n'), expected.split('\n')];
    const line = ours.findIndex((text, i) => text !== theirs[i]);
    const where = line === -1 ? `line ${ours.length + 1}` : `line ${line + 1}: ${JSON.stringify(theirs[line] ?? '')}`;
    expect(
      committed === expected,
      `packages/client/src/generated/openapi.ts differs from the live OpenAPI document (first at ${where}): ` +
        'run `npm run client:generate` and commit the result',
    ).toBe(true);
  });
});

describe('against a listening server', () => {
  it('signs in as each role and reads the profile', async () => {
    for (const role of ROLES) {
      const { email } = tenant.users[role];
      const result = await signIn(baseUrl, email, PASSWORD);
      expect(result.status).toBe('signed-in');
      if (result.status !== 'signed-in') continue;
      expect(result.user.email).toBe(email);
      const client = createWardlineClient({ baseUrl, token: result.token });
      const { data: profile } = await client.GET('/api/v1/profile');
      expect(profile.authMethod).toBe('bearer');
      expect(profile.organizations).toEqual([expect.objectContaining({ id: tenant.organizationId, role })]);
    }
  });

  it('throws a WardlineError for a wrong password', async () => {
    const error = await rejection(signIn(baseUrl, tenant.users.nurse.email, 'not-the-password'));
    expect(error.status).toBe(401);
    expect(error.details).toEqual([{ path: 'auth', message: 'INVALID_EMAIL_OR_PASSWORD' }]);
  });

  it('lists users, and a nurse gets a typed 403', async () => {
    const admin = createWardlineClient({ baseUrl, token: await tokenOf(tenant.users.admin.email) });
    const { data: users } = await admin.GET('/api/v1/users', { params: { query: { limit: 100 } } });
    expect(users.data.map((user) => user.email).sort()).toEqual(ROLES.map((role) => tenant.users[role].email).sort());
    expect(users.nextCursor).toBeNull();

    const nurse = createWardlineClient({ baseUrl, token: await tokenOf(tenant.users.nurse.email) });
    const error = await rejection(nurse.GET('/api/v1/users'));
    expect(error).toMatchObject({ status: 403, code: 'FORBIDDEN', message: expect.stringContaining('users:read') });
    expect(error.requestId).toMatch(/.{8,}/);
  });

  it('carries validation details, the request id and the organization header', async () => {
    const token = await tokenOf(tenant.users.admin.email);
    const admin = createWardlineClient({ baseUrl, token, organizationId: tenant.organizationId });
    const invalid = await rejection(admin.GET('/api/v1/users', { params: { query: { limit: 1000 } } }));
    expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(invalid.details).toEqual([expect.objectContaining({ path: 'querystring.limit' })]);

    const { data } = await admin.GET('/api/v1/users', { params: { query: { limit: 1 } } });
    expect(data.data).toHaveLength(1);
    const elsewhere = createWardlineClient({ baseUrl, token, organizationId: crypto.randomUUID() });
    expect(await rejection(elsewhere.GET('/api/v1/users'))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('paginates across pages', async () => {
    let requests = 0;
    const admin = createWardlineClient({
      baseUrl,
      token: await tokenOf(tenant.users.admin.email),
      fetch: (request) => {
        requests++;
        return fetch(request);
      },
    });
    const emails: string[] = [];
    for await (const user of admin.paginate('/api/v1/users', { params: { query: { limit: 2 } } })) {
      emails.push(user.email);
    }
    expect(emails.sort()).toEqual(ROLES.map((role) => tenant.users[role].email).sort());
    expect(requests).toBe(Math.ceil(ROLES.length / 2));
  });

  it('creates an API key with a bearer token and calls with it', async () => {
    const admin = createWardlineClient({ baseUrl, token: await tokenOf(tenant.users.admin.email) });
    const { data: created } = await admin.POST('/api/auth/api-key/create', { body: { name: 'client test' } });
    expect(created.key).toMatch(/^wl_/);

    const script = createWardlineClient({ baseUrl, apiKey: created.key });
    const { data: profile } = await script.GET('/api/v1/profile');
    expect(profile).toMatchObject({ authMethod: 'api-key', user: { email: tenant.users.admin.email } });
    const { data: users } = await script.GET('/api/v1/users');
    expect(users.data).toHaveLength(ROLES.length);

    const wrong = createWardlineClient({ baseUrl, apiKey: `${created.key}x` });
    expect(await rejection(wrong.GET('/api/v1/profile'))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('signs in with two-factor in two steps', async () => {
    const { doctor } = (await createTenant(t.app)).users;
    const totp = await enableTotp(t.app, doctor.token);

    const first = await signIn(baseUrl, doctor.email, PASSWORD);
    expect(first.status).toBe('two-factor-required');
    if (first.status !== 'two-factor-required') return;
    expect(first.methods).toEqual(['totp']);
    expect(first.challenge).toContain('two_factor=');

    const wrong = await rejection(first.verifyTotp('000000'));
    expect(wrong.status).toBe(401);

    const second = await first.verifyTotp(totp.generate());
    expect(second).toMatchObject({ status: 'signed-in', user: { email: doctor.email } });
    const client = createWardlineClient({ baseUrl, token: second.token });
    const { data: profile } = await client.GET('/api/v1/profile');
    expect(profile.user.email).toBe(doctor.email);
  });
});

describe('the README example', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));

  /** The ```ts block of README's "Use from TypeScript" section. */
  async function readmeExample() {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const section = /^## Use from TypeScript\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
    const code = section && /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    if (!code) throw new Error('README.md needs a ```ts block under "## Use from TypeScript"');
    return code;
  }

  /** The example pointed at the test server and tenant instead of a local demo server. */
  function retarget(code: string) {
    const replacements: [string, string][] = [
      ["'@wardline/client'", `'${join(root, 'packages/client/src/index.js')}'`],
      ["'http://127.0.0.1:5000'", `'${baseUrl}'`],
      ["'admin@demo.test'", `'${tenant.users.admin.email}'`],
      ["'demo-password-123'", `'${PASSWORD}'`],
    ];
    for (const [from] of replacements) expect(code, `the README example should contain ${from}`).toContain(from);
    return replacements.reduce((source, [from, to]) => source.replaceAll(from, to), code);
  }

  it('type-checks and runs against the server', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wardline-readme-'));
    const file = join(dir, 'example.mts');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await writeFile(file, retarget(await readmeExample()));

      const program = ts.createProgram([file], {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2023,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);

      await import(pathToFileURL(file).href);
      const printed = log.mock.calls.map((args) => args.join(' '));
      expect(printed).toContain(`Test admin, admin in Test Hospital ${tenant.slug.replace('tenant-', '')}`);
      expect(printed).toContain(`${tenant.users.nurse.email} nurse`);
      expect(printed.some((line) => line.startsWith('400 VALIDATION_FAILED'))).toBe(true);
    } finally {
      log.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('retries', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

  /** A local server whose answers the test scripts; it records each request it gets. */
  async function fakeServer(answers: Handler[]) {
    const seen: { method: string; url: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body });
        const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
        answer(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const json =
    (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
  const envelope = (code: string) => ({ error: { code, message: code.toLowerCase(), requestId: 'fake-request-1' } });
  const unavailable = json(503, envelope('SERVICE_UNAVAILABLE'), { 'retry-after': '0' });
  const limited = json(429, envelope('RATE_LIMITED'), { 'retry-after': '0' });
  const profile = {
    user: { id: 'u1', email: 'a@example.test', name: 'A', platformAdmin: false },
    authMethod: 'bearer',
    organizations: [],
  };

  it('retries a GET on 503 and 429 as Retry-After says, then succeeds', async () => {
    const fake = await fakeServer([unavailable, limited, json(200, profile)]);
    try {
      const client = createWardlineClient({ baseUrl: fake.url, token: 'abc' });
      const { data } = await client.GET('/api/v1/profile');
      expect(data.user.email).toBe('a@example.test');
      expect(fake.seen.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /api/v1/profile'));
    } finally {
      await fake.close();
    }
  });

  it('gives up after the configured number of retries, with the last error', async () => {
    const fake = await fakeServer([unavailable]);
    try {
      const client = createWardlineClient({ baseUrl: fake.url, retry: { retries: 3 } });
      const error = await rejection(client.GET('/api/v1/profile'));
      expect(error).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', requestId: 'fake-request-1' });
      expect(fake.seen).toHaveLength(4);
    } finally {
      await fake.close();
    }
  });

  it('does not wait longer than maxDelayMs', async () => {
    const fake = await fakeServer([json(429, envelope('RATE_LIMITED'), { 'retry-after': '60' })]);
    try {
      const client = createWardlineClient({ baseUrl: fake.url, retry: { maxDelayMs: 1000 } });
      expect(await rejection(client.GET('/api/v1/profile'))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(fake.seen).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it('never retries a POST', async () => {
    const fake = await fakeServer([unavailable, json(201, {})]);
    try {
      const client = createWardlineClient({ baseUrl: fake.url });
      const call = client.POST('/api/v1/invitations', { body: { email: 'b@example.test', role: 'nurse' } });
      expect(await rejection(call)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
      expect(fake.seen).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it('resends the body of a retried PUT; DELETE is retried too', async () => {
    const fake = await fakeServer([limited, unavailable, json(200, { ok: true })]);
    try {
      const put = retryingFetch((request) => fetch(request));
      const response = await put(
        new Request(`${fake.url}/things/1`, { method: 'PUT', body: JSON.stringify({ name: 'x' }) }),
      );
      expect(response.status).toBe(200);
      expect(fake.seen.map((r) => `${r.method} ${r.body}`)).toEqual(Array(3).fill('PUT {"name":"x"}'));

      fake.seen.length = 0;
      const client = createWardlineClient({ baseUrl: fake.url, retry: { retries: 1 } });
      const error = await rejection(client.DELETE('/api/v1/invitations/{id}', { params: { path: { id: 'i1' } } }));
      expect(error.status).toBe(503);
      expect(fake.seen.map((r) => `${r.method} ${r.url}`)).toEqual(Array(2).fill('DELETE /api/v1/invitations/i1'));
    } finally {
      await fake.close();
    }
  });

  it('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('turns a body that is not the envelope into an HTTP_<status> error', async () => {
    const fake = await fakeServer([
      (_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>Bad gateway</h1>');
      },
    ]);
    try {
      const error = await rejection(createWardlineClient({ baseUrl: fake.url }).GET('/health'));
      expect(error).toMatchObject({ status: 502, code: 'HTTP_502', message: '<h1>Bad gateway</h1>' });
    } finally {
      await fake.close();
    }
  });
});
