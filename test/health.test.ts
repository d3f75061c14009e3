import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Liveness } from '../src/platform/health.routes.js';
import { buildTestApp, type TestApp, UNREACHABLE_REDIS } from './helpers/test-app.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('health', () => {
  it('/health answers without touching dependencies, exactly as its schema documents', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    // Written without the check other answers get: the documented schema must still describe it whole.
    expect(Liveness.strict().parse(res.json())).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
  });

  it('has no CORS without CORS_ORIGINS: a preflight gets 405 and no Access-Control headers', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/profile',
      headers: { origin: 'https://elsewhere.example.test', 'access-control-request-method': 'GET' },
    });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    const get = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { origin: 'https://elsewhere.example.test' },
    });
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('/health/ready reports each configured dependency', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ready');
    expect(res.json().dependencies.database.status).toBe('up');
    if (t.redis) expect(res.json().dependencies.redis.status).toBe('up');
    // The probe itself never waits its turn, so it is not among the requests served.
    expect(res.json().pressure.requests).toEqual({ limit: 64, active: 0, waiting: 0 });
  });

  it('/health/ready is 503 with per-dependency status when one is down', async () => {
    // Nothing listens there, so start-up need not wait for it to answer.
    const dead = await buildTestApp({ REDIS_URL: UNREACHABLE_REDIS, REDIS_CONNECT_WAIT_MS: '0' });
    try {
      const res = await dead.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        dependencies: { database: { status: 'up' }, redis: { status: 'down' } },
      });
    } finally {
      await dead.close();
    }
  });
});
