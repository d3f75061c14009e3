import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionPlugin } from '../src/platform/http/admission.js';
import { letThrough } from '../src/platform/http/load-shedding.js';

// The line for a turn (src/platform/http/admission.ts), on a bare Fastify over real sockets: a
// route that holds each request until the test lets it go, and a probe that never waits.

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function serve(limit: number) {
  // Closed at once after each test, kept-alive connections and all (a client that went away leaves
  // Node waiting for its keep-alive connection otherwise, gate or not).
  const server = Fastify({ forceCloseConnections: true });
  const started: string[] = [];
  const held = new Map<string, () => void>();
  await server.register(admissionPlugin, { limit });
  server.get<{ Params: { id: string } }>('/work/:id', async (request) => {
    started.push(request.params.id);
    await new Promise<void>((resolve) => held.set(request.params.id, resolve));
    return { id: request.params.id };
  });
  server.get('/health', { config: { pressureHandler: letThrough } }, async () => ({ status: 'ok' }));
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  app = server;
  return { server, url, started, held };
}

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
    const { server, url, started, held } = await serve(2);
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

  it('lets a request whose client went away leave the line, and frees the turn of one served', async () => {
    const { server, url, started, held } = await serve(1);
    const first = fetch(`${url}/work/a`);
    await until(() => started.length === 1);
    const gone = new AbortController();
    const abandoned = fetch(`${url}/work/b`, { signal: gone.signal }).catch(() => null);
    await until(() => server.admission().waiting === 1);
    gone.abort();
    await abandoned;
    await until(() => server.admission().waiting === 0);

    // A served request whose client goes away gives its turn back too.
    const served = new AbortController();
    held.get('a')!();
    await first;
    const second = fetch(`${url}/work/c`, { signal: served.signal }).catch(() => null);
    await until(() => started.includes('c'));
    const third = fetch(`${url}/work/d`);
    await until(() => server.admission().waiting === 1);
    served.abort();
    await second;
    await until(() => started.includes('d'));
    expect(started).toEqual(['a', 'c', 'd']);
    held.get('c')!();
    held.get('d')!();
    expect((await third).status).toBe(200);
  });

  it('lets everything through with a limit of 0', async () => {
    const { server, url, started, held } = await serve(0);
    const answers = ['a', 'b', 'c'].map((id) => fetch(`${url}/work/${id}`));
    await until(() => started.length === 3);
    expect(server.admission()).toEqual({ limit: 0, active: 0, waiting: 0 });
    for (const id of ['a', 'b', 'c']) held.get(id)!();
    await Promise.all(answers);
  });
});
