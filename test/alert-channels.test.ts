import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  type ECDH,
  hkdfSync,
  randomBytes,
  verify as verifySignature,
} from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import {
  type AlertMessageInput,
  buildChannels,
  checkWebhookUrl,
  renderAlertMessage,
} from '../src/modules/alerts/channels/index.js';
import type { OutsideService } from '../src/platform/resilience/breaker-table.js';
import { Breakers } from '../src/platform/resilience/breakers.js';

// The alert notification channels (src/modules/alerts/channels/) against fakes this file starts on
// 127.0.0.1: an SMTP server (smtp-server), a push service and a chat webhook receiver. Each test makes
// its own circuit breakers, so that one test's failures never open another's breaker.

const input: AlertMessageInput = {
  kind: 'alert',
  priority: 'high',
  type: 'fall',
  hospitalName: 'Riverside General',
  unitName: 'Unit 4B',
  roomName: '12',
  tier: 1,
  link: 'https://wardline.example/a/1',
};
const message = renderAlertMessage(input);
/** What a careless caller might pass along: none of it may reach any output. */
const patientData = { patientName: 'Jane Roe', mrn: 'MRN-99812', dateOfBirth: '1950-02-03', notes: 'fell at 3am' };

const dataDirs: string[] = [];
const allBreakers: Breakers[] = [];
const servers: Server[] = [];
const log = { info: vi.fn(), warn: vi.fn() };

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wardline-channels-'));
  dataDirs.push(dir);
  return dir;
}

function breakers(timeouts: Partial<Record<OutsideService, number>> = {}): Breakers {
  const made = new Breakers({
    timeouts: { smtp: 10_000, webhook: 10_000, push: 10_000, ai: 10_000, ...timeouts },
    errorThresholdPercentage: 50,
    volumeThreshold: 3,
    resetTimeoutMs: 60_000,
  });
  allBreakers.push(made);
  return made;
}

function channels(env: Record<string, string> = {}, b = breakers()) {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: tempDir(), WEBHOOK_ALLOW_PRIVATE: '1', ...env });
  return buildChannels(config, b, log);
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** An HTTP server on 127.0.0.1 that records each request and lets `answer` reply (or not). */
async function fakeService(answer: (request: Received, response: ServerResponse) => void) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { received, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

afterAll(async () => {
  for (const b of allBreakers) b.shutdown();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

describe('alert message', () => {
  it('says what happened where, and links to the alert', () => {
    expect(message.subject).toBe('High-priority alert (fall), Unit 4B, room 12');
    expect(message.text).toBe(
      'High-priority alert (fall), Unit 4B, room 12\nRiverside General\n\nOpen: https://wardline.example/a/1',
    );
    expect(renderAlertMessage({ ...input, kind: 'escalation', tier: 2 }).subject).toBe(
      'Escalated to tier 2: High-priority alert (fall), Unit 4B, room 12',
    );
    expect(renderAlertMessage({ ...input, kind: 'ack-reminder' }).subject).toMatch(
      /^Reminder: acknowledged alert not yet resolved: /,
    );
    expect(renderAlertMessage({ ...input, kind: 'undelivered', priority: 'low', type: 'code-blue' }).subject).toBe(
      'Alert could not be delivered to anyone on duty: Low-priority alert (code blue), Unit 4B, room 12',
    );
  });

  it('has no field that could carry patient data, and drops any it is handed', () => {
    // @ts-expect-error: the input type has no patient field, on purpose
    renderAlertMessage({ ...input, patientName: 'Jane Roe' });
    const rendered = renderAlertMessage({ ...input, ...patientData });
    expect(Object.keys(rendered).sort()).toEqual(['body', 'html', 'link', 'priority', 'subject', 'text']);
    const everything = JSON.stringify(rendered);
    for (const value of Object.values(patientData)) expect(everything).not.toContain(value);
  });

  it('strips control and bidirectional characters from names and bounds their length', () => {
    const rendered = renderAlertMessage({
      ...input,
      hospitalName: 'Evil\u202eName\u2066 Hospital\u0000',
      unitName: 'Ward\nB\u200f',
      roomName: 'x'.repeat(500),
      type: 'odd\u0007type\u2028',
    });
    expect(rendered.body).toBe('EvilName Hospital');
    expect(rendered.subject).toMatch(/^High-priority alert \(odd type\), Ward B, room x+…$/);
    expect([...rendered.subject].length).toBeLessThan(140);
    for (const line of [rendered.subject, rendered.body, ...rendered.text.split('\n'), rendered.html])
      expect(line).not.toMatch(/[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
  });

  it('escapes names in html and drops a link that is not http(s)', () => {
    const rendered = renderAlertMessage({
      ...input,
      hospitalName: '<script>alert(1)</script> & "Co"',
      link: 'https://wardline.example/a/1?x="><img>',
    });
    expect(rendered.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;');
    expect(rendered.html).not.toMatch(/<script|<img/);
    const hostile = renderAlertMessage({ ...input, link: 'javascript:alert(1)' });
    expect(hostile.link).toBeUndefined();
    expect(hostile.html + hostile.text).not.toContain('javascript');
  });
});

describe('email channel', () => {
  let smtpUrl: string;
  let refuseWith: number | null = null;
  let rcptCalls = 0;
  const mails: { to: string[]; raw: string }[] = [];

  beforeAll(async () => {
    const smtp = new SMTPServer({
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(_address, _session, callback) {
        rcptCalls++;
        if (refuseWith === null) return callback();
        callback(Object.assign(new Error('not now'), { responseCode: refuseWith }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          mails.push({
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
    return () => new Promise<void>((resolve) => smtp.close(resolve));
  });

  it('delivers the message, with no patient data in it', async () => {
    const { email } = channels({ SMTP_URL: smtpUrl });
    expect(email.enabled).toBe(true);
    const leaky = renderAlertMessage({ ...input, ...patientData });
    const outcome = await email.send('nurse@riverside.example', leaky);
    expect(outcome).toEqual({ status: 'sent', detail: 'smtp accepted (riverside.example)' });
    const mail = mails.at(-1)!;
    expect(mail.to).toEqual(['nurse@riverside.example']);
    expect(mail.raw).toContain('Subject: High-priority alert (fall), Unit 4B, room 12');
    expect(mail.raw).toContain('From: Wardline <alerts@wardline.invalid>');
    expect(mail.raw).toContain('Auto-Submitted: auto-generated');
    expect(mail.raw).toContain('Open: https://wardline.example/a/1');
    for (const value of Object.values(patientData)) expect(mail.raw).not.toContain(value);
  });

  it('is off without SMTP_URL, and refuses anything but one plain address', async () => {
    const { email } = channels();
    expect(email.enabled).toBe(false);
    expect(await email.send('nurse@riverside.example', message)).toEqual({
      status: 'skipped',
      reason: 'email disabled: SMTP_URL is not set',
    });
    const on = channels({ SMTP_URL: smtpUrl }).email;
    for (const to of ['a@x.example, b@y.example', 'Someone <a@x.example>', 'no-at-sign'])
      expect(await on.send(to, message)).toEqual({
        status: 'failed',
        reason: 'not a single email address',
        retryable: false,
      });
  });

  it('gives a retryable failure on 451, opens the breaker after repeated ones, then refuses fast', async () => {
    const b = breakers();
    const { email } = channels({ SMTP_URL: smtpUrl }, b);
    refuseWith = 451;
    try {
      for (let i = 0; i < 3; i++) {
        const outcome = await email.send('nurse@riverside.example', message);
        expect(outcome).toEqual({
          status: 'failed',
          reason: 'smtp answered 451 to RCPT TO (riverside.example)',
          retryable: true,
        });
      }
      expect(b.for('smtp').state).toBe('open');
      const before = rcptCalls;
      const started = performance.now();
      expect(await email.send('nurse@riverside.example', message)).toEqual({
        status: 'failed',
        reason: 'smtp unavailable (circuit breaker open)',
        retryable: true,
      });
      expect(performance.now() - started).toBeLessThan(250);
      expect(rcptCalls).toBe(before);
    } finally {
      refuseWith = null;
    }
  });

  it('treats a 550 as final for that recipient, without counting it against the server', async () => {
    const b = breakers();
    const { email } = channels({ SMTP_URL: smtpUrl }, b);
    refuseWith = 550;
    try {
      for (let i = 0; i < 4; i++)
        expect(await email.send('gone@riverside.example', message)).toMatchObject({
          status: 'failed',
          retryable: false,
        });
      expect(b.for('smtp').state).toBe('closed');
      expect(b.for('smtp').stats().counts.failures).toBe(0);
    } finally {
      refuseWith = null;
    }
  });

  it('gives a retryable failure when the server cannot be reached', async () => {
    // A port that was just free: nothing listens there.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { email } = channels({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    const outcome = await email.send('nurse@riverside.example', message);
    expect(outcome).toMatchObject({
      status: 'failed',
      retryable: true,
      reason: expect.stringMatching(/^smtp unreachable/),
    });
  });
});

/** A browser's side of a push subscription: its key pair and auth secret. */
function browser(endpoint: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    ecdh,
    auth,
    subscription: {
      endpoint,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    },
  };
}

/** Opens an aes128gcm push message (RFC 8188, RFC 8291) as the browser would. */
function decryptPush(body: Buffer, ecdh: ECDH, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const serverKey = body.subarray(21, 21 + idLength);
  const sealed = body.subarray(21 + idLength);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdh.computeSecret(serverKey), auth, keyInfo, 32));
  const key = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', key, nonce);
  decipher.setAuthTag(sealed.subarray(-16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()]);
  return plain.subarray(0, plain.lastIndexOf(2)).toString('utf8'); // the last record ends with 2, then padding
}

/** Checks the VAPID JWT in `authorization` was signed with `publicKey`; returns its claims. */
function vapidClaims(authorization: string, publicKey: string): Record<string, unknown> {
  const [, token, k] = /^vapid t=([^,]+), k=(.+)$/.exec(authorization)!;
  expect(k).toBe(publicKey);
  const [header, claims, signature] = token!.split('.') as [string, string, string];
  const raw = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const signed = Buffer.from(`${header}.${claims}`);
  const valid = verifySignature(
    'sha256',
    signed,
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  expect(valid).toBe(true);
  return JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('push channel', () => {
  const statusFor: Record<string, number> = { '/ok': 201, '/gone': 410, '/missing': 404, '/broken': 500 };
  let service: Awaited<ReturnType<typeof fakeService>>;

  beforeAll(async () => {
    service = await fakeService((request, response) => response.writeHead(statusFor[request.path] ?? 200).end());
  });

  it('posts an encrypted, VAPID-signed message with TTL and urgency from the priority', async () => {
    const { push } = channels();
    const phone = browser(`${service.base}/ok`);
    expect(await push.send(phone.subscription, message)).toEqual({
      status: 'sent',
      detail: `push service answered 201 (${new URL(service.base).host})`,
    });
    const request = service.received.at(-1)!;
    expect(request.headers).toMatchObject({
      ttl: '600',
      urgency: 'high',
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
    });
    const claims = vapidClaims(request.headers.authorization!, push.publicKey!);
    expect(claims).toMatchObject({ aud: service.base, sub: 'mailto:alerts@wardline.invalid' });
    expect(request.body.includes(Buffer.from('Riverside'))).toBe(false);
    expect(JSON.parse(decryptPush(request.body, phone.ecdh, phone.auth))).toEqual({
      title: 'High-priority alert (fall), Unit 4B, room 12',
      body: 'Riverside General',
      url: 'https://wardline.example/a/1',
    });

    await push.send(phone.subscription, renderAlertMessage({ ...input, priority: 'medium' }));
    expect(service.received.at(-1)!.headers).toMatchObject({ ttl: '1800', urgency: 'normal' });
  });

  it('reports a 404 or 410 as a gone subscription, and a 500 as retryable', async () => {
    const { push } = channels();
    for (const path of ['/gone', '/missing'])
      expect(await push.send(browser(`${service.base}${path}`).subscription, message)).toMatchObject({
        status: 'failed',
        retryable: false,
        gone: true,
      });
    const broken = await push.send(browser(`${service.base}/broken`).subscription, message);
    expect(broken).toEqual({
      status: 'failed',
      reason: `push service answered 500 (${new URL(service.base).host})`,
      retryable: true,
    });
  });

  it('refuses a private or plain-http endpoint unless WEBHOOK_ALLOW_PRIVATE, without calling it', async () => {
    const { push } = channels({ WEBHOOK_ALLOW_PRIVATE: '0' });
    const before = service.received.length;
    for (const endpoint of [`${service.base}/ok`, 'https://127.0.0.1/x', 'http://push.example/x'])
      expect(await push.send(browser(endpoint).subscription, message)).toMatchObject({ status: 'failed', gone: true });
    expect(service.received.length).toBe(before);
  });

  it('makes VAPID keys once outside production, keeps them in DATA_DIR (0600) and reuses them', () => {
    const dataDir = tempDir();
    const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const first = buildChannels(config, breakers(), log).push;
    const file = join(dataDir, '.vapid-keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = buildChannels(config, breakers(), log).push;
    expect(first.enabled && second.enabled).toBe(true);
    expect(second.publicKey).toBe(first.publicKey);
    expect(Buffer.from(first.publicKey!, 'base64url')).toHaveLength(65);
  });

  it('refuses a damaged key file, and one VAPID key without the other', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, '.vapid-keys.json'), '{"publicKey":"short"}');
    expect(() => buildChannels(loadConfig({ DATA_DIR: dataDir }), breakers(), log)).toThrow(/damaged; delete it/);
    const half = loadConfig({ DATA_DIR: tempDir(), VAPID_PUBLIC_KEY: webpush.generateVAPIDKeys().publicKey });
    expect(buildChannels(half, breakers(), log).push.disabledReason).toBe(
      'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together',
    );
  });

  it('reports a subscription whose keys cannot be used as gone, without calling the service', async () => {
    const { push } = channels();
    const before = service.received.length;
    const broken = { endpoint: `${service.base}/ok`, keys: { p256dh: 'not-a-key', auth: 'x' } };
    expect(await push.send(broken, message)).toEqual({
      status: 'failed',
      reason: 'push subscription keys are not usable',
      retryable: false,
      gone: true,
    });
    expect(service.received.length).toBe(before);
  });

  it('uses the configured keys, and is off in production without them', async () => {
    const pair = webpush.generateVAPIDKeys();
    const dataDir = tempDir();
    const keys = { VAPID_PUBLIC_KEY: pair.publicKey, VAPID_PRIVATE_KEY: pair.privateKey };
    const configured = buildChannels(loadConfig({ DATA_DIR: dataDir, ...keys }), breakers(), log).push;
    expect(configured.publicKey).toBe(pair.publicKey);
    expect(existsSync(join(dataDir, '.vapid-keys.json'))).toBe(false);

    const production = { NODE_ENV: 'production', DATA_DIR: tempDir(), AUTH_SECRET: 's'.repeat(32) };
    const { push } = buildChannels(loadConfig(production), breakers(), log);
    expect(push.enabled).toBe(false);
    expect(push.publicKey).toBeNull();
    expect(push.disabledReason).toMatch(/required when NODE_ENV=production/);
    expect(await push.send(browser(`${service.base}/ok`).subscription, message)).toMatchObject({
      status: 'skipped',
    });
  });
});

describe('webhook channel', () => {
  let flakyCalls = 0;
  const slowWaiters: (() => void)[] = [];
  /** Resolves when the next request to /slow has arrived (and been left unanswered). */
  const nextSlow = () => new Promise<void>((resolve) => slowWaiters.push(resolve));
  let service: Awaited<ReturnType<typeof fakeService>>;

  beforeAll(async () => {
    service = await fakeService((request, response) => {
      if (request.path === '/slow') return slowWaiters.shift()?.(); // never answers
      if (request.path === '/flaky') return response.writeHead(++flakyCalls === 1 ? 500 : 200).end('ok');
      if (request.path === '/redirect') return response.writeHead(302, { location: '/ok' }).end();
      response.writeHead(request.path === '/bad' ? 400 : request.path === '/limited' ? 429 : 200).end();
    });
  });

  it('posts Slack JSON: a retryable failure on 500, then sent', async () => {
    const { webhook } = channels();
    const host = new URL(service.base).host;
    const shouting = renderAlertMessage({ ...input, hospitalName: '<!channel> & Co' });
    expect(await webhook.send(`${service.base}/flaky`, shouting)).toEqual({
      status: 'failed',
      reason: `webhook answered 500 (${host})`,
      retryable: true,
    });
    expect(await webhook.send(`${service.base}/flaky`, shouting)).toEqual({
      status: 'sent',
      detail: `webhook answered 200 (${host})`,
    });
    const request = service.received.at(-1)!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({
      text: 'High-priority alert (fall), Unit 4B, room 12\n&lt;!channel&gt; &amp; Co\nOpen: https://wardline.example/a/1',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*High-priority alert (fall), Unit 4B, room 12*\n&lt;!channel&gt; &amp; Co' },
          accessory: {
            type: 'button',
            text: { type: 'plain_text', text: 'Open alert' },
            url: 'https://wardline.example/a/1',
          },
        },
      ],
    });
  });

  it('treats a 400 as final without opening the breaker; a 429 retries; a redirect is not followed', async () => {
    const b = breakers();
    const { webhook } = channels({}, b);
    for (let i = 0; i < 5; i++)
      expect(await webhook.send(`${service.base}/bad`, message)).toMatchObject({ status: 'failed', retryable: false });
    expect(b.for('webhook').state).toBe('closed');
    expect(b.for('webhook').stats().counts.failures).toBe(0);

    expect(await webhook.send(`${service.base}/limited`, message)).toMatchObject({ retryable: true });
    const before = service.received.length;
    expect(await webhook.send(`${service.base}/redirect`, message)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('302'),
      retryable: false,
    });
    expect(service.received.length).toBe(before + 1);
  });

  it('gives up on a stalled receiver at the breaker timeout, and stops when the caller aborts', async () => {
    const { webhook } = channels({}, breakers({ webhook: 300 }));
    const started = performance.now();
    expect(await webhook.send(`${service.base}/slow`, message)).toEqual({
      status: 'failed',
      reason: 'webhook timed out',
      retryable: true,
    });
    expect(performance.now() - started).toBeLessThan(3000);

    const patient = channels().webhook; // the default 10 s timeout: only the caller's abort ends this one
    const controller = new AbortController();
    const arrived = nextSlow();
    const sending = patient.send(`${service.base}/slow`, message, controller.signal);
    await arrived;
    controller.abort();
    expect(await sending).toEqual({ status: 'failed', reason: 'webhook call cancelled', retryable: true });
  });

  it('refuses a private URL unless WEBHOOK_ALLOW_PRIVATE, without calling it', async () => {
    const { webhook } = channels({ WEBHOOK_ALLOW_PRIVATE: '0' });
    const before = service.received.length;
    expect(await webhook.send(`${service.base}/ok`, message)).toMatchObject({ status: 'failed', retryable: false });
    expect(service.received.length).toBe(before);
  });

  it('checkWebhookUrl refuses local, private, metadata and credentialed URLs', () => {
    const strict = { allowPrivate: false };
    for (const url of [
      'file:///etc/passwd',
      'ftp://hooks.example.com/x',
      'https://user:secret@hooks.example.com/x',
      'http://127.0.0.1/x',
      'http://2130706433/x',
      'http://10.1.2.3/x',
      'http://172.20.0.1/x',
      'http://192.168.1.10/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[64:ff9b::a9fe:a9fe]/latest/meta-data',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://[fe80::1]/x',
      'http://[fd00::1]/x',
      'http://localhost:8080/x',
      'http://metadata.google.internal/x',
      'http://metadata/x',
      'not a url',
    ])
      expect(checkWebhookUrl(url, strict), url).toMatchObject({ ok: false });
    expect(checkWebhookUrl('https://hooks.example.com/x', strict)).toMatchObject({ ok: true });
    expect(checkWebhookUrl('http://127.0.0.1:9000/x', { allowPrivate: true })).toMatchObject({ ok: true });
    // Credentials and other schemes stay refused even when private addresses are allowed.
    expect(checkWebhookUrl('http://u:p@127.0.0.1/x', { allowPrivate: true })).toMatchObject({ ok: false });
    expect(checkWebhookUrl('file:///etc/passwd', { allowPrivate: true })).toMatchObject({ ok: false });
    // The reason names the host, never the path (a webhook's path is often its secret).
    const refused = checkWebhookUrl('http://10.0.0.1/services/T000/B000/secret', strict);
    expect(refused.ok === false && refused.reason).not.toContain('secret');
  });
});
