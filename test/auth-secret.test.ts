import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type Database, openDatabase } from '../src/platform/db/database.js';
import { enableTotp } from './helpers/two-factor.js';
import { as, createScratchDatabase, createTenant, PASSWORD, signIn, type Tenant } from './helpers/test-app.js';

/** One database, and the app restarted on it with whichever secrets a step needs. */
let database: Database;
let dropScratch: (() => Promise<void>) | undefined;
let running: FastifyInstance | undefined;

async function restart(secret: string, previous: string[] = []): Promise<FastifyInstance> {
  await running?.close();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: secret,
    AUTH_SECRET_PREVIOUS: previous.join(','),
    SIGNIN_IP_LIMIT_PER_MINUTE: '1000',
  });
  running = await buildApp(config, { database, redis: null, authSecret: secret });
  await running.ready();
  return running;
}

const secret = () => randomBytes(32).toString('base64url');

async function signInStep(app: FastifyInstance, email: string) {
  return app.inject({ method: 'POST', url: '/api/auth/sign-in/email', payload: { email, password: PASSWORD } });
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL);
    dropScratch = () => scratch.drop();
    database = await openDatabase({ url: scratch.url, poolSize: 4 });
  } else {
    database = await openDatabase({ dataDir: 'memory://' });
  }
  await database.migrate();
});
afterAll(async () => {
  await running?.close();
  await database.close();
  await dropScratch?.();
});

describe('changing AUTH_SECRET', () => {
  const first = secret();
  const second = secret();
  const third = secret();
  let tenant: Tenant;
  let totp: Awaited<ReturnType<typeof enableTotp>>;

  it('starts with working sessions, tokens and two-factor', async () => {
    const app = await restart(first);
    tenant = await createTenant(app);
    totp = await enableTotp(app, tenant.users.doctor.token);
    const jwt = await as(app, tenant.users.admin.token)({ method: 'GET', url: '/api/auth/token' });
    expect(jwt.statusCode).toBe(200);
  });

  it('with the old one in AUTH_SECRET_PREVIOUS: ends every session, keeps two-factor and the token keys', async () => {
    const app = await restart(second, [first]);
    // Cookies were signed with the old secret, so bearer tokens end with them: the two agree.
    for (const user of Object.values(tenant.users)) {
      expect((await as(app, user.token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(401);
    }
    const admin = await signIn(app, tenant.users.admin.email);
    expect((await as(app, admin)({ method: 'GET', url: '/api/auth/token' })).statusCode).toBe(200);

    const challenge = await signInStep(app, tenant.users.doctor.email);
    expect(challenge.json()).toMatchObject({ twoFactorRedirect: true });
    const verified = await app.inject({
      method: 'POST',
      url: '/api/auth/two-factor/verify-totp',
      payload: { code: totp.generate() },
      cookies: Object.fromEntries(challenge.cookies.map((c) => [c.name, c.value])),
    });
    expect(verified.statusCode).toBe(200);
  });

  it('without it: still ends every session, makes new token keys, and ends two-factor enrolments it cannot open', async () => {
    const app = await restart(third);
    const admin = await signIn(app, tenant.users.admin.email);
    const jwt = await as(app, admin)({ method: 'GET', url: '/api/auth/token' });
    expect(jwt.statusCode).toBe(200);
    const doctor = await signInStep(app, tenant.users.doctor.email);
    expect(doctor.statusCode).toBe(200);
    expect(doctor.json().token).toEqual(expect.any(String));
    expect(doctor.json().user.twoFactorEnabled).toBe(false);
  });

  it('restarting with the same secret changes nothing', async () => {
    const before = await restart(third);
    const token = await signIn(before, tenant.users.nurse.email);
    const app = await restart(third);
    expect((await as(app, token)({ method: 'GET', url: '/api/v1/profile' })).statusCode).toBe(200);
    expect((await as(app, token)({ method: 'GET', url: '/api/auth/token' })).statusCode).toBe(200);
  });
});
