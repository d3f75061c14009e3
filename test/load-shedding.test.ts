import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

// Load shedding (src/platform/http/load-shedding.ts) under an artificial event-loop stall: a busy loop
// in the test itself, which runs in the app's process.

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({
    LOAD_SHED_EVENT_LOOP_DELAY_MS: '100',
    LOAD_SHED_SAMPLE_INTERVAL_MS: '100',
    LOAD_SHED_RETRY_AFTER_SECONDS: '7',
  });
});
afterAll(() => t.close());

function stall(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs
  }
}

const get = (url: string) => t.app.inject({ method: 'GET', url });

/** Polls `probe` until `done` holds of its answer, or fails after `timeoutMs`. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('load shedding', () => {
  it('answers 503 with Retry-After while the event loop lags, never on /health, and recovers', async () => {
    // Start-up's own delay is not acted on; wait until the samples are.
    await until(
      () => get('/health/ready'),
      (res) => res.statusCode === 200,
      10_000,
    );

    // A loop that lags all along, not one stall: every 10 ms tick of the sample waits behind a 150 ms
    // stall, so each sample stays over the 100 ms bound for as long as it lasts, however a loaded
    // machine stretches the samples. (A single stall is over the bound in one sample only, a 100 ms
    // window that a slow poll could miss.)
    const lagging = setInterval(() => stall(150), 0);
    let seen: LightMyRequestResponse[] | undefined;
    try {
      seen = await until(
        () => Promise.all([get('/api/v1/profile'), get('/health'), get('/health/ready')]),
        (answers) => answers[0]!.statusCode === 503,
        10_000,
      );
    } finally {
      clearInterval(lagging);
    }
    const [shed, live, ready] = seen;
    expect(shed!.json()).toMatchObject({
      error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/overloaded/) },
    });
    expect(shed!.headers['retry-after']).toBe('7');
    expect(live!.statusCode).toBe(200);
    expect(ready!.statusCode).toBe(503);
    expect(ready!.json()).toMatchObject({ status: 'unavailable', pressure: { underPressure: true } });
    expect(ready!.json().pressure.eventLoopDelayMs).toBeGreaterThan(100);

    // The next samples, with the loop free again, end it.
    await until(
      () => get('/api/v1/profile'),
      (res) => res.statusCode === 401,
      5000,
    );
    const after = await until(
      () => get('/health/ready'),
      (res) => res.statusCode === 200,
      5000,
    );
    expect(after.json()).toMatchObject({ status: 'ready', pressure: { underPressure: false } });
  });
});
