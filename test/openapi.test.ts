import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;
let document: {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; requestBody?: unknown; security?: unknown[] }>
  >;
  components: { securitySchemes: Record<string, unknown> };
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
