import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/platform/db/database.js';
import { connectRedis } from '../src/platform/redis.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

describe('health', () => {
  it('/health answers without touching dependencies', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ok');
  });

  it('/health/ready reports each configured dependency', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ready');
    expect(res.json().dependencies.database.status).toBe('up');
    if (t.redis) expect(res.json().dependencies.redis.status).toBe('up');
  });

  it('/health/ready is 503 with per-dependency status when one is down', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: 'memory://',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    const redis = connectRedis('redis://127.0.0.1:1');
    const app = await buildApp(config, { database, redis, authSecret: 's'.repeat(40) });
    try {
      const res = await app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        dependencies: { database: { status: 'up' }, redis: { status: 'down' } },
      });
    } finally {
      await app.close();
      redis.disconnect();
      await database.close();
    }
  });
});
