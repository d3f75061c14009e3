import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdmissionOptions, admissionPlugin } from '../src/platform/http/admission.js';
import { registerErrorHandling } from '../src/platform/http/errors.js';
import { letThrough } from '../src/platform/http/load-shedding.js';

// The line for a turn (src/platform/http/admission.ts), on a bare Fastify over real sockets: routes
// that hold each request until the test lets it go, and a probe that never waits.

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(options: Partial<AdmissionOptions> & { limit: number }) {
  // Closed at once after each test, kept-alive connections and all.
  const server = Fastify({ forceCloseConnections: true });
  registerErrorHandling(server);
  // As in the app (http.plugin.ts): the 404 handler is set before the line exists, so its context has no
  // hooks of the line's.
  server.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
  const started: string[] = [];
  const held = new Map<string, () => void>();
  await server.register(admissionPlugin, { maxWaiting: 100, maxWaitMs: 60_000, retryAfterSeconds: 7, ...options });
  const hold = async (id: string) => {
    started.push(id);
    await new Promise<void>((resolve) => held.set(id, resolve));
    return { id };
  };
  server.get<{ Params: { id: string } }>('/work/:id', (request) => hold(request.params.id));
  server.post<{ Params: { id: string } }>('/upload/:id', (request) => hold(request.params.id));
  server.get('/health', { config: { pressureHandler: letThrough } }, async () => ({ status: 'ok' }));
  // As a static file that is not there (@fastify/static, in a plugin of its own): sent on to the 404 handler.
  await server.register(async (child) => {
    child.post('/missing', (_request, reply) => reply.callNotFound());
  });
  // A request whose client leaves before its turn is asked for (here, while a hook still works on it).
  server.post(
    '/late',
    {
      preValidation: (request, _reply, done) => {
        started.push('late: arrived');
        request.raw.socket.once('close', () => done());
      },
      onSend: (_request, reply, payload, done) => {
        started.push(`late: answered ${reply.statusCode}`);
        done(null, payload);
      },
    },
    () => hold('late'),
  );
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  app = server;
  return { server, url, started, held };
}

/** A small JSON body, POSTed. */
const postJson = (url: string, signal?: AbortSignal) =>
  fetch(url, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' }, signal });

/** Waits (a few ms at a time, at most 2 s) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  const deadline = performance.now() + 2000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('condition not met in 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('admission', () => {
  it('serves at most `limit` requests at once, the others in the order they came', async () => {
    const { server, url, started, held } = await serve({ limit: 2 });
    const answers: Array<Promise<Response>> = [];
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      answers.push(fetch(`${url}/work/${id}`));
      await until(() => server.admission().active + server.admission().waiting === answers.length);
    }
    expect(started).toEqual(['a', 'b']);
    expect(server.admission()).toEqual({ limit: 2, active: 2, waiting: 3 });

    // The probe does not wait behind them.
    expect((await fetch(`${url}/health`)).status).toBe(200);

    held.get('b')!();
    await until(() => started.length === 3);
    expect(started).toEqual(['a', 'b', 'c']);
    for (const id of ['a', 'c']) held.get(id)!();
    await until(() => started.length === 5);
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const id of ['d', 'e']) held.get(id)!();
    const bodies = await Promise.all(answers.map(async (answer) => (await (await answer).json()) as { id: string }));
    expect(bodies.map((body) => body.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    await until(() => server.admission().active === 0);
    expect(server.admission()).toEqual({ limit: 2, active: 0, waiting: 0 });
  });

  it('takes a waiting request whose client went away out of the line', async () => {
    const { server, url, started, held } = await serve({ limit: 1 });
    const first = fetch(`${url}/work/a`);
    await until(() => started.length === 1);
    const gone = new AbortController();
    const abandoned = fetch(`${url}/work/b`, { signal: gone.signal }).catch(() => null);
    await until(() => server.admission().waiting === 1);
    gone.abort();
    await abandoned;
    await until(() => server.admission().waiting === 0);
    const next = fetch(`${url}/work/c`);
    await until(() => server.admission().waiting === 1);
    held.get('a')!();
    await first;
    await until(() => started.length === 2);
    expect(started).toEqual(['a', 'c']);
    held.get('c')!();
    expect((await next).status).toBe(200);
  });

  it('keeps the turn of a served request whose client went away until its handler has answered', async () => {
    const { server, url, started, held } = await serve({ limit: 1 });
    const leaving = new AbortController();
    const first = fetch(`${url}/work/a`, { signal: leaving.signal }).catch(() => null);
    await until(() => started.length === 1);
    const second = fetch(`${url}/work/b`);
    await until(() => server.admission().waiting === 1);
    leaving.abort();
    await first;
    // The first handler is still at work: the second still waits.
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.admission()).toEqual({ limit: 1, active: 1, waiting: 1 });
    expect(started).toEqual(['a']);
    held.get('a')!();
    await until(() => started.length === 2);
    held.get('b')!();
    expect((await second).status).toBe(200);
    await until(() => server.admission().active === 0);
  });

  it('takes the turn once the body is read: a slow upload holds none', async () => {
    const { server, url, started, held } = await serve({ limit: 1 });
    const { port } = new URL(url);
    const upload = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => upload.once('connect', resolve));
    // Headers and half the body, and then nothing for now.
    upload.write(
      'POST /upload/slow HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"half":',
    );
    const other = fetch(`${url}/work/quick`);
    await until(() => started.includes('quick'));
    expect(server.admission()).toEqual({ limit: 1, active: 1, waiting: 0 });
    held.get('quick')!();
    expect((await other).status).toBe(200);
    upload.write(' 1}');
    await until(() => started.includes('slow'));
    held.get('slow')!();
    upload.destroy();
  });

  it('answers 503 with Retry-After when the line is full, and when a request has waited too long', async () => {
    const { server, url, started, held } = await serve({ limit: 1, maxWaiting: 1, maxWaitMs: 150 });
    const first = fetch(`${url}/work/a`);
    await until(() => started.length === 1);
    const waits = fetch(`${url}/work/b`);
    await until(() => server.admission().waiting === 1);

    const full = await fetch(`${url}/work/c`);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('7');
    expect(((await full.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');

    // b waits past 150 ms (a is held throughout) and is answered so; it never started.
    const late = await waits;
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('7');
    expect(server.admission()).toEqual({ limit: 1, active: 1, waiting: 0 });
    held.get('a')!();
    expect((await first).status).toBe(200);
    await until(() => server.admission().active === 0);
    expect(started).toEqual(['a']);
  });

  it('gives a request one turn however often its hooks run (a request sent on to the 404 handler)', async () => {
    const { server, url } = await serve({ limit: 2 });
    for (let i = 0; i < 5; i++) {
      const res = await postJson(`${url}/missing`);
      expect(res.status).toBe(404);
    }
    await until(() => server.admission().active === 0);
    expect(server.admission()).toEqual({ limit: 2, active: 0, waiting: 0 });
  });

  it('refuses, rather than lines up, a request whose client left before it asked for its turn', async () => {
    const { server, url, started, held } = await serve({ limit: 1 });
    const first = fetch(`${url}/work/a`);
    await until(() => started.length === 1);
    const leaving = new AbortController();
    const late = postJson(`${url}/late`, leaving.signal).catch(() => null);
    await until(() => started.includes('late: arrived'));
    leaving.abort();
    await late;
    // Its answer (503) goes nowhere; it never waited, and never started.
    await until(() => started.includes('late: answered 503'));
    expect(server.admission()).toEqual({ limit: 1, active: 1, waiting: 0 });
    held.get('a')!();
    expect((await first).status).toBe(200);
    await until(() => server.admission().active === 0);
    expect(started).toEqual(['a', 'late: arrived', 'late: answered 503']);
  });

  it('lets everything through with a limit of 0', async () => {
    const { server, url, started, held } = await serve({ limit: 0 });
    const answers = ['a', 'b', 'c'].map((id) => fetch(`${url}/work/${id}`));
    await until(() => started.length === 3);
    expect(server.admission()).toEqual({ limit: 0, active: 0, waiting: 0 });
    for (const id of ['a', 'b', 'c']) held.get(id)!();
    await Promise.all(answers);
  });
});
