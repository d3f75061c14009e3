import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentCommonErrors } from '../src/platform/docs.plugin.js';
import { withoutNullable } from '../src/platform/docs/auth-openapi.js';
import { codeToStatus, statusToCode } from '../src/platform/http/errors.js';
import { as, buildTestApp, createTenant, PASSWORD, type TestApp } from './helpers/test-app.js';
import { enableTotp } from './helpers/two-factor.js';

type Security = Record<string, string[]>[];
type Operation = {
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  requestBody?: unknown;
  security?: Security;
};
type ObjectSchema = { type: 'object'; properties: Record<string, unknown>; required: string[] };

let t: TestApp;
let document: {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { name?: string }> };
  security: Security;
};

beforeAll(async () => {
  t = await buildTestApp();
  const res = await t.app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
  expect(res.statusCode).toBe(200);
  document = res.json();
});
afterAll(() => t.close());

/** Fastify's `/a/:id` is OpenAPI's `/a/{id}`. */
const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Every operation of the document, with its path and method. */
const operations = () =>
  Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({ path, method, operation })),
  );

/** The reply has every key the object schema requires, and none it does not list. */
function expectToFit(body: Record<string, unknown>, schema: ObjectSchema) {
  expect(Object.keys(body)).toEqual(expect.arrayContaining(schema.required));
  expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(Object.keys(body)));
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('documents every registered route', () => {
    const visible = t.app.routeCatalog.filter((route) => !route.hidden);
    expect(visible.length).toBeGreaterThanOrEqual(12);
    const missing = t.app.routeCatalog
      .filter((route) => !route.hidden)
      .filter((route) => !document.paths[toOpenApiPath(route.url)]?.[route.method.toLowerCase()])
      .map((route) => `${route.method} ${route.url}`);
    expect(missing).toEqual([]);
  });

  it('documents the auth routes, re-rooted under /api/auth, with our error envelope', () => {
    for (const path of [
      '/api/auth/sign-in/email',
      '/api/auth/sign-up/email',
      '/api/auth/sign-out',
      '/api/auth/two-factor/verify-totp',
      '/api/auth/api-key/create',
    ]) {
      expect(document.paths[path]?.post, path).toBeDefined();
    }
    expect(JSON.stringify(document.paths['/api/auth/sign-in/email']!.post!.responses['401'])).toContain(
      '#/components/schemas/Error',
    );
  });

  it('asks for the invitation token wherever an invitation is used', () => {
    for (const path of [
      '/api/auth/sign-up/email',
      '/api/auth/organization/accept-invitation',
      '/api/auth/organization/reject-invitation',
    ]) {
      const body = JSON.stringify(document.paths[path]!.post!.requestBody);
      expect(body, path).toContain('invitationToken');
    }
  });

  it('declares the cookie, bearer and API-key security schemes', () => {
    expect(Object.keys(document.components.securitySchemes)).toEqual(
      expect.arrayContaining(['session', 'bearer', 'apiKey']),
    );
  });

  it('documents error responses on the v1 routes', () => {
    const users = document.paths['/api/v1/users']!.get!;
    expect(Object.keys(users.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });

  it('serves the browsable UI at /api/docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
  });
});

describe('tenant selection in the document', () => {
  it('declares X-Organization-Id on the routes that run in one organization', () => {
    const params = (document.paths['/api/v1/users']!.get as unknown as { parameters: { name: string; in: string }[] })
      .parameters;
    expect(params).toContainEqual(expect.objectContaining({ name: 'x-organization-id', in: 'header' }));
  });
});

describe('security requirements', () => {
  it('name only security schemes the document defines', () => {
    const used = [document.security, ...operations().map(({ operation }) => operation.security ?? [])]
      .flat()
      .flatMap((requirement) => Object.keys(requirement));
    const undefinedNames = [...new Set(used)].filter((name) => !(name in document.components.securitySchemes));
    expect(undefinedNames).toEqual([]);
  });

  it('make sign-in, sign-up and the JWKS public, and they answer without a credential', async () => {
    for (const [path, method] of [
      ['/api/auth/sign-in/email', 'post'],
      ['/api/auth/sign-up/email', 'post'],
      ['/api/auth/jwks', 'get'],
    ] as const) {
      expect(document.paths[path]![method]!.security, path).toEqual([]);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/jwks' })).statusCode).toBe(200);
    // Without any credential: a sign-in is judged on its password, a sign-up on its invitation.
    const { users } = await createTenant(t.app);
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: users.nurse.email, password: PASSWORD },
    });
    expect(signIn.statusCode).toBe(200);
    const signUp = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-up/email',
      payload: { email: 'newcomer@example.test', password: PASSWORD, name: 'New', invitationToken: 'none' },
    });
    expect(signUp.json().error.details).toEqual([{ path: 'auth', message: 'INVITATION_REQUIRED' }]);
  });

  it('ask for a session or bearer token, never an API key, where Better Auth needs a session', async () => {
    expect(document.paths['/api/auth/token']!.get!.security).toEqual([{ session: [] }, { bearer: [] }]);
    const authSecurity = operations()
      .filter(({ path }) => path.startsWith('/api/auth/'))
      // An operation without security of its own would inherit the document's, API key included.
      .flatMap(({ operation }) => operation.security ?? [{ default: [] }]);
    expect(authSecurity.filter((requirement) => 'apiKey' in requirement || 'default' in requirement)).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/api/auth/token' })).statusCode).toBe(401);
  });
});

describe('error statuses', () => {
  it('are the ones Wardline sends for auth errors, not the ones Better Auth documents', async () => {
    const rewritten = operations()
      .filter(({ path }) => path.startsWith('/api/auth/'))
      .flatMap(({ path, operation }) => Object.keys(operation.responses).map((status) => ({ path, status })))
      .filter(({ status }) => Number(status) >= 400 && codeToStatus(statusToCode(Number(status))) !== Number(status));
    expect(rewritten).toEqual([]);

    // Better Auth refuses a sign-up for an existing email with 422; Wardline sends 409 CONFLICT.
    const [a, b] = [await createTenant(t.app), await createTenant(t.app)];
    const invited = await as(
      t.app,
      a.users.admin.token,
    )({
      method: 'POST',
      url: '/api/v1/invitations',
      payload: { email: b.users.doctor.email, role: 'nurse' },
    });
    expect(invited.statusCode).toBe(201);
    const signUp = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-up/email',
      payload: {
        email: b.users.doctor.email,
        password: PASSWORD,
        name: 'Again',
        invitationToken: invited.json().token,
      },
    });
    expect(signUp.statusCode).toBe(409);
    expect(signUp.json().error.code).toBe('CONFLICT');
    expect(Object.keys(document.paths['/api/auth/sign-up/email']!.post!.responses)).toContain('409');
  });

  it('include 429 on the auth routes behind a rate limit only', () => {
    expect(document.paths['/api/auth/sign-in/email']!.post!.responses['429']).toBeDefined();
    expect(document.paths['/api/auth/change-password']!.post!.responses['429']).toBeDefined();
    expect(document.paths['/api/auth/sign-out']!.post!.responses['429']).toBeUndefined();
  });

  it('include 500 everywhere, 413 and 415 with a body, 401 with a credential, in the Error envelope', async () => {
    const missing = operations().flatMap(({ path, method, operation }) => {
      const expected = ['500', ...(operation.requestBody ? ['413', '415'] : [])];
      if (path.startsWith('/api/v1/')) expected.push('401');
      return expected
        .filter((status) => !JSON.stringify(operation.responses[status] ?? {}).includes('#/components/schemas/Error'))
        .map((status) => `${method} ${path} ${status}`);
    });
    expect(missing).toEqual([]);

    // What the server really sends for them.
    const { users } = await createTenant(t.app);
    const call = as(t.app, users.admin.token);
    const url = '/api/v1/invitations';
    const notJson = await call({ method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(notJson.statusCode).toBe(415);
    const tooLarge = await call({ method: 'POST', url, payload: { email: 'x'.repeat(t.config.BODY_LIMIT_BYTES) } });
    expect(tooLarge.statusCode).toBe(413);
  });

  it('keep what a route declares', () => {
    expect(document.paths['/api/v1/users/{id}']!.delete!.responses['409']!.description).not.toBe('Error');
    const declared = { description: 'Our own 500', content: {} };
    const doc = {
      paths: {
        '/with-body': { post: { requestBody: {}, responses: { '500': declared } } },
        '/free': { get: { responses: {} } },
      },
      security: [{ session: [] }],
    };
    documentCommonErrors(doc);
    expect(doc.paths['/with-body'].post.responses).toMatchObject({ '500': declared });
    expect(Object.keys(doc.paths['/with-body'].post.responses).sort()).toEqual(['401', '413', '415', '500']);
    expect(Object.keys(doc.paths['/free'].get.responses).sort()).toEqual(['401', '500']);
  });
});

describe('sign-in with two-factor', () => {
  it('documents both replies of sign-in, as the server sends them', async () => {
    const ok = document.paths['/api/auth/sign-in/email']!.post!.responses['200']!.content!['application/json']!
      .schema as { oneOf: ObjectSchema[] };
    expect(ok.oneOf).toHaveLength(2);
    const [session, challenge] = ok.oneOf as [ObjectSchema, ObjectSchema];

    const { users } = await createTenant(t.app);
    const signIn = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/sign-in/email',
        payload: { email: users.nurse.email, password: PASSWORD },
      });
    const plain = await signIn();
    expect(plain.statusCode).toBe(200);
    expectToFit(plain.json(), session);

    await enableTotp(t.app, users.nurse.token);
    const twoFactor = await signIn();
    expect(twoFactor.statusCode).toBe(200);
    expectToFit(twoFactor.json(), challenge);
    expect(twoFactor.json()).toMatchObject({ twoFactorRedirect: true, twoFactorMethods: ['totp'] });
    // The cookie the second step takes is the one the document names.
    const cookieName = document.components.securitySchemes.twoFactorChallenge?.name;
    expect(twoFactor.cookies.map((cookie) => cookie.name)).toContain(cookieName);
  });
});

describe('schemas', () => {
  it('use JSON Schema null types, not the OpenAPI 3.0 nullable keyword', () => {
    const withNullable: string[] = [];
    const visit = (node: unknown, where: string) => {
      if (typeof node !== 'object' || node === null) return;
      if (typeof (node as { nullable?: unknown }).nullable === 'boolean') withNullable.push(where);
      for (const [key, value] of Object.entries(node)) visit(value, `${where}/${key}`);
    };
    visit(document, '#');
    expect(withNullable).toEqual([]);
  });

  it('turn nullable into a null type, a null enum value or an anyOf', () => {
    expect(
      withoutNullable({
        properties: {
          url: { type: 'string', nullable: true },
          use: { type: 'string', enum: ['sig'], nullable: true },
          user: { $ref: '#/components/schemas/User', nullable: true },
          name: { type: 'string', nullable: false },
          nullable: { type: 'boolean' },
        },
      }),
    ).toEqual({
      properties: {
        url: { type: ['string', 'null'] },
        use: { type: ['string', 'null'], enum: ['sig', null] },
        user: { anyOf: [{ $ref: '#/components/schemas/User' }, { type: 'null' }] },
        name: { type: 'string' },
        nullable: { type: 'boolean' },
      },
    });
  });
});
