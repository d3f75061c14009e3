import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActing } from '../src/platform/db/unit-of-work.js';
import { AlertDelivery } from '../src/modules/alerts/alert-delivery.js';
import type { Channels } from '../src/modules/alerts/channels/index.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';
import { eventually } from './helpers/eventually.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let t: TestApp;
let a: Tenant;
let hook: Server;
let hookUrl: string;
const hooked: Json[] = [];
let place: { hospital: string; unit: string; room: string };

const body = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => resolve(text));
  });

async function timeline(id: string): Promise<Json[]> {
  const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/alerts/${id}` });
  return res.json<Json>().timeline as Json[];
}

beforeAll(async () => {
  hook = createServer((request, response) => {
    void body(request).then((text) => {
      hooked.push(JSON.parse(text) as Json);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/services/T000/B000/secret`;
  // Email goes to an SMTP port where nothing listens: every attempt fails, retryably.
  t = await buildTestApp({
    WEBHOOK_ALLOW_PRIVATE: '1',
    SMTP_URL: 'smtp://127.0.0.1:9',
    JOBS_POLL_INTERVAL_SECONDS: '0.5',
  });
  a = await createTenant(t.app);
  const admin = as(t.app, a.users.admin.token);
  const hospital = (await admin({ method: 'POST', url: '/api/v1/hospitals', payload: { name: 'East' } })).json<Json>();
  const unit = (
    await admin({ method: 'POST', url: `/api/v1/hospitals/${hospital.id}/units`, payload: { name: '4B' } })
  ).json<Json>();
  const room = (
    await admin({ method: 'POST', url: `/api/v1/units/${unit.id}/rooms`, payload: { name: '12' } })
  ).json<Json>();
  place = { hospital: hospital.id, unit: unit.id, room: room.id };
  await as(
    t.app,
    a.users.nurse.token,
  )({ method: 'POST', url: '/api/v1/staff/me/shift/start', payload: { unitId: unit.id } });
  const policy = await admin({
    method: 'PUT',
    url: `/api/v1/hospitals/${hospital.id}/escalation-policy`,
    payload: {
      rules: [{ urgency: 5, delaysSeconds: [300] }],
      ackTimeoutSeconds: 600,
      channels: { '5': ['email'] },
      webhookUrl: hookUrl,
    },
  });
  expect(policy.statusCode, policy.body).toBe(200);
  // The webhook is shown by host only: its path is its secret.
  expect(policy.json<Json>().webhook).toEqual({ host: new URL(hookUrl).host });
  expect(policy.body).not.toContain('secret');
}, 120_000);
afterAll(async () => {
  await t?.close();
  hook?.close();
});

describe('outside deliveries', () => {
  it('a failing SMTP server is logged and retried while the webhook still delivers, with no patient data', async () => {
    const res = await as(
      t.app,
      a.users.operator.token,
    )({
      method: 'POST',
      url: '/api/v1/alerts',
      payload: {
        hospitalId: place.hospital,
        unitId: place.unit,
        roomId: place.room,
        type: 'fall',
        urgency: 5,
        description: 'Mrs Example fell near the window',
      },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json<Json>().id as string;

    const message = await eventually(async () => hooked.find((m) => String(m.text).includes('4B')));
    expect(message.text).toContain('High-priority alert (fall), 4B, room 12');
    expect(JSON.stringify(message)).not.toContain('Example');
    const webhookSent = await eventually(async () =>
      (await timeline(id)).find((e) => e.type === 'notified' && e.detail.channel === 'webhook'),
    );
    expect(webhookSent.detail).toMatchObject({ result: 'sent', attempt: 1 });

    const emailFailed = await eventually(async () =>
      (await timeline(id)).find((e) => e.type === 'notified' && e.detail.channel === 'email'),
    );
    expect(emailFailed.detail).toMatchObject({ result: 'failed', retrying: true, userId: a.users.nurse.id });
    expect(emailFailed.detail.reason).not.toContain(a.users.nurse.email);
    const queued = (await timeline(id)).filter((e) => e.type === 'delivery-queued').map((e) => e.detail.channel);
    expect(queued.sort()).toEqual(['email', 'webhook']);
  });

  it('a notice of an alert acknowledged before it is sent is dropped at send time; a reminder is not', async () => {
    const res = await as(
      t.app,
      a.users.operator.token,
    )({
      method: 'POST',
      url: '/api/v1/alerts',
      payload: { hospitalId: place.hospital, unitId: place.unit, roomId: place.room, type: 'pain', urgency: 2 },
    });
    const id = res.json<Json>().id as string;
    await as(t.app, a.users.nurse.token)({ method: 'POST', url: `/api/v1/alerts/${id}/acknowledge`, payload: {} });

    const sent: string[] = [];
    const fake = {
      email: { enabled: true, send: async (to: string) => (sent.push(to), { status: 'sent' as const }) },
      push: { enabled: false },
      webhook: { enabled: true },
    } as unknown as Channels;
    const delivery = new AlertDelivery({ uow: t.app.uow, now: () => new Date(), channels: fake, linkTo: (x) => x });
    const run = (kind: 'escalation' | 'ack-reminder') =>
      delivery.run({
        id: 'job',
        name: 'alert.deliver',
        attempt: 1,
        data: {
          organizationId: a.organizationId,
          requestId: null,
          alertId: id,
          userId: a.users.nurse.id,
          channel: 'email',
          kind,
          tier: 2,
        },
        acting: systemActing(a.organizationId),
      });
    expect(await run('escalation')).toEqual({ result: 'skipped' });
    expect(sent).toEqual([]);
    const dropped = (await timeline(id)).find((e) => e.type === 'delivery-dropped');
    expect(dropped?.detail).toMatchObject({ reason: 'the alert is acknowledged', channel: 'email' });
    expect(await run('ack-reminder')).toEqual({ result: 'sent' });
    expect(sent).toEqual([a.users.nurse.email]);
  });

  it('refuses a webhook on a private address unless the server allows it, and a non-http URL always', async () => {
    const admin = as(t.app, a.users.admin.token);
    const put = (webhookUrl: string) =>
      admin({
        method: 'PUT',
        url: `/api/v1/hospitals/${place.hospital}/escalation-policy`,
        payload: { rules: [], ackTimeoutSeconds: 600, webhookUrl },
      });
    expect((await put('file:///etc/passwd')).statusCode).toBe(400);
    expect((await put('http://user:pw@hooks.example.com/x')).statusCode).toBe(400);
    // A policy written back without the webhook (the API never shows its URL) keeps it.
    const kept = await admin({
      method: 'PUT',
      url: `/api/v1/hospitals/${place.hospital}/escalation-policy`,
      payload: { rules: [{ urgency: 5, delaysSeconds: [300] }], ackTimeoutSeconds: 600 },
    });
    expect(kept.json<Json>().webhook).toEqual({ host: new URL(hookUrl).host });
    expect(kept.json<Json>().channels['5']).toEqual(['email']);
  });

  it('keeps at most ten push subscriptions per person', async () => {
    const nurse = as(t.app, a.users.nurse.token);
    const subscribe = (n: number) =>
      nurse({
        method: 'POST',
        url: '/api/v1/notifications/push-subscriptions',
        payload: {
          endpoint: `https://push.example.com/send/device-${n}`,
          keys: { p256dh: 'B'.repeat(87), auth: 'A'.repeat(22) },
        },
      });
    for (let n = 0; n < 10; n++) expect((await subscribe(n)).statusCode).toBe(201);
    expect((await subscribe(10)).statusCode).toBe(409);
    // The same browser again is an update, not an eleventh.
    expect((await subscribe(3)).statusCode).toBe(201);
  });
});
