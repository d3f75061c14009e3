import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerOpenError } from '../src/platform/resilience/breakers.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

// The circuit breakers (src/platform/resilience/) against a fake outside service this test starts on
// 127.0.0.1: it fails while `failing` is set, and never answers /slow.

let t: TestApp;
let server: Server;
let base: string;
let failing = true;
let hits = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/slow') return; // never answers
    hits++;
    response.writeHead(failing ? 500 : request.url === '/gone' ? 410 : 200).end(failing ? 'down' : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await buildTestApp({
    BREAKER_VOLUME_THRESHOLD: '3',
    BREAKER_ERROR_PERCENT: '50',
    BREAKER_RESET_MS: '500',
    // Generous for the local fake service on a busy machine; /slow never answers anyway.
    BREAKER_TIMEOUTS: 'webhook=5s,push=300ms',
  });
});
afterAll(async () => {
  await t?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A webhook call as a job would make it: a non-2xx answer is an error. */
const deliver = (path = '/hook') =>
  t.app.breakers.for('webhook').fire(async (signal) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', signal });
    if (!res.ok) throw Object.assign(new Error(`webhook answered ${res.status}`), { status: res.status });
    return res.text();
  });

const stateOf = (name: string) => t.app.breakers.stats().find((b) => b.name === name)!.state;

async function until(done: () => boolean, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('circuit breakers', () => {
  it('open after the threshold, refuse fast while open, half-open after the reset time, close on success', async () => {
    expect(stateOf('webhook')).toBe('closed');
    for (let i = 0; i < 3; i++) await expect(deliver()).rejects.toThrow('webhook answered 500');
    expect(stateOf('webhook')).toBe('open');

    // Refused without calling the service.
    const before = hits;
    const started = performance.now();
    const refused = await deliver().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BreakerOpenError);
    expect((refused as BreakerOpenError).service).toBe('webhook');
    expect(performance.now() - started).toBeLessThan(250);
    expect(hits).toBe(before);

    // Readiness: degraded, not down.
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe('degraded');
    // (By the time the probes answer, the reset time may have passed: open or half-open, not closed.)
    expect(ready.json().breakers.find((b: { name: string }) => b.name === 'webhook').state).not.toBe('closed');

    await until(() => stateOf('webhook') === 'half-open', 2000);
    // A failed trial opens it again.
    await expect(deliver()).rejects.toThrow('webhook answered 500');
    expect(stateOf('webhook')).toBe('open');

    failing = false;
    await until(() => stateOf('webhook') === 'half-open', 2000);
    expect(await deliver()).toBe('ok');
    expect(stateOf('webhook')).toBe('closed');
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json().status).toBe('ready');

    const stats = t.app.breakers.stats().find((b) => b.name === 'webhook')!;
    expect(stats.counts).toMatchObject({ failures: 4, successes: 1, rejected: 1 });
  });

  it('abandons a call at its timeout and aborts its signal', async () => {
    let aborted: AbortSignal | undefined;
    const started = performance.now();
    const error = (await t.app.breakers
      .for('push')
      .fire(async (signal) => {
        aborted = signal;
        return fetch(`${base}/slow`, { signal });
      })
      .catch((e: unknown) => e)) as { code?: string };
    expect(error.code).toBe('ETIMEDOUT');
    expect(performance.now() - started).toBeLessThan(2000);
    await until(() => aborted?.aborted === true, 1000);
    expect(t.app.breakers.stats().find((b) => b.name === 'push')!.counts.timeouts).toBe(1);
  });

  it("passes an answer that is not the service's fault on, without counting it", async () => {
    const breaker = t.app.breakers.for('webhook');
    const isFailure = (error: unknown) => ((error as { status?: number }).status ?? 500) >= 500;
    const before = breaker.stats().counts.failures;
    for (let i = 0; i < 5; i++) {
      await expect(
        breaker.fire(
          async (signal) => {
            const res = await fetch(`${base}/gone`, { signal });
            if (!res.ok) throw Object.assign(new Error(`answered ${res.status}`), { status: res.status });
          },
          { isFailure },
        ),
      ).rejects.toThrow('answered 410');
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.stats().counts.failures).toBe(before);
  });

  it("one host's breaker opens alone: another host of the service is still called, and health names the host", async () => {
    const call = (host: string, fails: boolean) =>
      t.app.breakers.for('webhook', host).fire(async () => {
        if (fails) throw new Error('receiver down');
        return 'delivered';
      });
    for (let i = 0; i < 3; i++) await expect(call('broken.example', true)).rejects.toThrow('receiver down');
    const refused = await call('Broken.Example', false).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BreakerOpenError);
    expect(refused).toMatchObject({ service: 'webhook', host: 'broken.example' });
    expect(await call('working.example', false)).toBe('delivered');

    const stats = t.app.breakers.stats();
    expect(stats.find((b) => b.name === 'webhook' && !b.host)).toMatchObject({ state: 'closed', openHosts: 1 });
    expect(stats.find((b) => b.host === 'broken.example')).toMatchObject({ name: 'webhook', state: 'open' });
    expect(stats.some((b) => b.host === 'working.example')).toBe(false);
    // The public readiness route counts a host's open breaker but never names the host, and one
    // hospital's receiver does not make the instance degraded.
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.json().breakers).toContainEqual({ name: 'webhook', state: 'closed', openHosts: 1 });
    expect(ready.body).not.toContain('broken.example');
    expect(ready.json().status).toBe('ready');
  });

  it('keeps at most MAX_HOSTS host breakers per service, never dropping one that is open', async () => {
    const { Breakers, MAX_HOSTS } = await import('../src/platform/resilience/breakers.js');
    const breakers = new Breakers({
      timeouts: { smtp: 1000, webhook: 1000, push: 1000, ai: 1000 },
      errorThresholdPercentage: 50,
      volumeThreshold: 1,
      resetTimeoutMs: 60_000,
    });
    try {
      await expect(
        breakers.for('webhook', 'open.example').fire(() => Promise.reject(new Error('down'))),
      ).rejects.toThrow();
      expect(breakers.for('webhook', 'open.example').state).toBe('open');
      for (let i = 0; i < MAX_HOSTS + 10; i++)
        await breakers.for('webhook', `host-${i}.example`).fire(async () => 'ok');
      // Still open: cycling through hosts cannot reset it.
      expect(breakers.for('webhook', 'OPEN.example.').state).toBe('open');
      const webhook = breakers.stats().find((b) => b.name === 'webhook' && !b.host)!;
      // Every call is in the service's totals, also those of dropped hosts.
      expect(webhook.counts.calls).toBe(MAX_HOSTS + 11);
      expect(webhook.openHosts).toBe(1);
    } finally {
      breakers.shutdown();
    }
  });
});
