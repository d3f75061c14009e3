import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHUTDOWN_STALL_MS } from '../src/platform/http/edge.js';
import { buildTestApp, type TestApp } from './helpers/test-app.js';

// Answers given at the edge of the server: before a route is found, outside Fastify (a socket that
// times out, a request Node's parser refuses), and while shutting down. Each has the error
// envelope, the security headers and a request id, like every other answer.

const REQUEST_TIMEOUT_MS = 600;
const HEADERS_TIMEOUT_MS = 300;

let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await buildTestApp({
    CORS_ORIGINS: 'https://ward.example.test',
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
  });
  port = Number(new URL(await t.app.listen({ port: 0, host: '127.0.0.1' })).port);
});
afterAll(() => t.close());

// The uploads go to an unknown route: it reads the whole body before it answers 404, where an API
// route would refuse an unauthenticated caller before reading it.

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first HTTP response in what a socket received. */
function parse(received: string): RawAnswer {
  const end = received.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = received.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: received.slice(end + 4) };
}

/** A raw connection: what it received, and a promise of its close. */
function open(to = port) {
  const socket = connect(to, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  const closed = once(socket, 'close').then(() => received);
  return { socket, closed, received: () => received };
}

/** Sends raw bytes and resolves with the answer once the server closes the connection. */
async function exchange(text: string): Promise<RawAnswer> {
  const connection = open();
  connection.socket.write(text);
  return parse(await connection.closed);
}

/** What every answer carries, whoever gave it. */
function expectEdgeAnswer(answer: { headers: Record<string, unknown>; body: string }, code: string) {
  const body = JSON.parse(answer.body) as { error: { code: string; message: string; requestId: string } };
  expect(body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  expect(answer.headers['x-request-id']).toBe(body.error.requestId);
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(answer.headers['strict-transport-security']).toBeDefined();
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  return body.error;
}

describe('timeouts', () => {
  it('answers a body that stops arriving with 408, within REQUEST_TIMEOUT_MS, and closes the connection', async () => {
    const connection = open();
    const started = Date.now();
    connection.socket.write(
      'POST /api/v1/no-such-route HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Length: 40\r\n\r\n{"email":"half',
    );
    const answer = parse(await connection.closed);
    const elapsed = Date.now() - started;
    expect(answer.status).toBe(408);
    expectEdgeAnswer(answer, 'REQUEST_TIMEOUT');
    expect(answer.headers.connection).toBe('close');
    // Node checks on an interval of a quarter of HEADERS_TIMEOUT_MS here; a generous margin for a busy machine.
    expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_MS + 2000);
  });

  it('answers headers that stop arriving with 408 within HEADERS_TIMEOUT_MS', async () => {
    const connection = open();
    const started = Date.now();
    connection.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const answer = parse(await connection.closed);
    expect(answer.status).toBe(408);
    expectEdgeAnswer(answer, 'REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 2000);
  });

  it('refuses a headers timeout longer than the request timeout', async () => {
    await expect(buildTestApp({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' })).rejects.toThrow(
      /HEADERS_TIMEOUT_MS: must not be longer than REQUEST_TIMEOUT_MS/,
    );
  });
});

describe('shutdown', () => {
  it('finishes promptly with a stalled upload, half-sent headers and an idle connection open', async () => {
    // Default timeouts (30 s for a request): only the shutdown's own stall rule can end these in time.
    const own = await buildTestApp();
    const ownPort = Number(new URL(await own.app.listen({ port: 0, host: '127.0.0.1' })).port);
    const upload = open(ownPort);
    const dispatched = once(own.app.server, 'request');
    upload.socket.write(
      'POST /api/v1/no-such-route HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Length: 40\r\n\r\n{"email":"half',
    );
    await dispatched;
    const idle = open(ownPort);
    idle.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    while (!idle.received().includes('"status":"ok"')) await once(idle.socket, 'data');
    const headers = open(ownPort);
    await once(headers.socket, 'connect');
    headers.socket.write('GET /health HTTP/1.1\r\nHost: local');

    // The HTTP server closes once its last connection has: what a stalled client could hold up. (The
    // rest of the test app's close, a scratch database and Redis keys, is not the shutdown's.)
    const serverClosed = once(own.app.server, 'close');
    const started = Date.now();
    const closed = own.close();
    await serverClosed;
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_STALL_MS + 2000);
    await closed;
    const answer = parse(await upload.closed);
    expect(answer.status).toBe(408);
    expectEdgeAnswer(answer, 'REQUEST_TIMEOUT');
    await idle.closed;
    await headers.closed;
  });

  it('lets an upload that keeps arriving finish during shutdown', async () => {
    const own = await buildTestApp();
    const ownPort = Number(new URL(await own.app.listen({ port: 0, host: '127.0.0.1' })).port);
    const upload = open(ownPort);
    const dispatched = once(own.app.server, 'request');
    const body = JSON.stringify({ email: 'slow@example.test', role: 'nurse' });
    upload.socket.write(
      'POST /api/v1/no-such-route HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n`,
    );
    await dispatched;
    const closed = own.close();
    // Paced on purpose: four parts, each well within SHUTDOWN_STALL_MS of the last, taking longer in all.
    const gap = SHUTDOWN_STALL_MS / 2.5;
    for (let i = 0; i < 4; i++) {
      await pause(gap);
      upload.socket.write(body.slice((i * body.length) / 4, ((i + 1) * body.length) / 4));
    }
    await closed;
    // Answered after the whole body arrived (an unknown route reads its body first), not cut off.
    expect(parse(await upload.closed).status).toBe(404);
  });
});

describe('answers outside a route', () => {
  it('answers a path with malformed percent-encoding with 400 in the envelope, without echoing it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/%ff' });
    expect(res.statusCode).toBe(400);
    expectEdgeAnswer({ headers: res.headers, body: res.body }, 'VALIDATION_FAILED');
    expect(res.body).not.toContain('%ff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('answers a path parameter over 100 characters with 414 URI_TOO_LONG', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/users/${'a'.repeat(101)}` });
    expect(res.statusCode).toBe(414);
    expectEdgeAnswer({ headers: res.headers, body: res.body }, 'URI_TOO_LONG');
    expect(res.body).not.toContain('a'.repeat(101));
  });

  it('answers a bare OPTIONS as a server without CORS would: 405 with Allow', async () => {
    const res = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/profile' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expectEdgeAnswer({ headers: res.headers, body: res.body }, 'METHOD_NOT_ALLOWED');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a preflight without Access-Control-Request-Method with 400 in the envelope', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/profile',
      headers: { origin: 'https://ward.example.test' },
    });
    expect(res.statusCode).toBe(400);
    expect(expectEdgeAnswer({ headers: res.headers, body: res.body }, 'VALIDATION_FAILED').message).toContain(
      'Access-Control-Request-Method',
    );
  });

  it('answers an HTTP/1.1 request without Host with 400 in the envelope', async () => {
    const answer = await exchange('GET /health HTTP/1.1\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(expectEdgeAnswer(answer, 'VALIDATION_FAILED').message).toContain('Host');
    expect(answer.headers.connection).toBe('close');
  });

  it('serves HTTP/1.0 without Host, with the usual headers', async () => {
    const answer = await exchange('GET /api/v1/profile HTTP/1.0\r\n\r\n');
    expect(answer.status).toBe(401);
    expectEdgeAnswer(answer, 'UNAUTHENTICATED');
  });

  it('answers an unknown Expect with 417 and CONNECT with 405, where Node would answer bare or not at all', async () => {
    const expectation = await exchange('GET /health HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\n\r\n');
    expect(expectation.status).toBe(417);
    expectEdgeAnswer(expectation, 'EXPECTATION_FAILED');
    const tunnel = await exchange('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
    expect(tunnel.status).toBe(405);
    expectEdgeAnswer(tunnel, 'METHOD_NOT_ALLOWED');
  });

  it('answers what is not HTTP with 400, and oversized headers with 431, in the envelope', async () => {
    const garbage = await exchange('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.status).toBe(400);
    expectEdgeAnswer(garbage, 'VALIDATION_FAILED');
    const huge = await exchange(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(huge.status).toBe(431);
    expectEdgeAnswer(huge, 'PAYLOAD_TOO_LARGE');
  });
});
