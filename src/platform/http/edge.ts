import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { codeToStatus, type ErrorCode, errorBody } from './errors.js';
import { SECURITY_HEADER_LINES, setSecurityHeaders } from './security-headers.js';

/**
 * Once shutdown has begun, how long a connection may stay silent while its request is unfinished
 * (headers or body still to come) before it is answered 408 and closed. Node stops enforcing
 * HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS when the server closes, so without this one stalled
 * upload would hold every shutdown until SHUTDOWN_TIMEOUT_MS and its exit code 1.
 */
export const SHUTDOWN_STALL_MS = 1000;

/**
 * An answer written straight to the socket, for failures Fastify never sees as a request (a
 * malformed request, a timeout): the same envelope, security headers and request id as any other
 * answer. The connection is closed once it is written.
 */
export function answerOnSocket(socket: Socket, status: number, code: ErrorCode, message: string): void {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(code, message, requestId));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n` +
      SECURITY_HEADER_LINES +
      'Cache-Control: no-store\r\nConnection: close\r\n\r\n' +
      body,
    // The server's sockets allow half-open connections: without this a silent client keeps it.
    () => socket.destroy(),
  );
}

/** The response Node is writing on a socket, if any (Node keeps it there; it is not in the types). */
const responseOn = (socket: Socket) => (socket as { _httpMessage?: ServerResponse })._httpMessage;

/**
 * Errors Node's HTTP server raises before Fastify sees a request (headers too large, malformed
 * request line) or while it is still arriving (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection, or one whose answer has begun: there is nothing more to say on it.
  if (error.code === 'ECONNRESET' || !socket.writable || responseOn(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    answerOnSocket(socket, 408, 'REQUEST_TIMEOUT', 'the request did not arrive in time');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    answerOnSocket(socket, 431, 'PAYLOAD_TOO_LARGE', 'the request headers are too large');
  } else {
    answerOnSocket(socket, 400, 'VALIDATION_FAILED', 'the request is not valid HTTP');
  }
}

/**
 * Requests Fastify's router refuses before any hook runs: a path with malformed percent-encoding,
 * a path parameter over `maxParamLength` (100). Neither message echoes the path.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [code, message]: [ErrorCode, string] =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? ['URI_TOO_LONG', 'a segment of the path is longer than 100 characters']
      : error.code === 'FST_ERR_BAD_URL'
        ? ['VALIDATION_FAILED', 'the path is not valid: malformed percent-encoding']
        : ['VALIDATION_FAILED', 'the request is not valid'];
  request.log.info({ code }, 'request rejected');
  setSecurityHeaders(reply.raw, request.url);
  void reply
    .code(codeToStatus(code))
    .header('x-request-id', request.id)
    .header('cache-control', 'no-store')
    .send(errorBody(code, message, request.id));
}

/**
 * Requests Node answers by itself, bypassing Fastify: an `Expect` other than 100-continue (a bare
 * 417) and `CONNECT` (the connection closed without a word). Both get the envelope here.
 */
export function answerWhatNodeWould(server: FastifyInstance['server']): void {
  server.on('checkExpectation', (request: IncomingMessage) =>
    answerOnSocket(request.socket, 417, 'EXPECTATION_FAILED', 'the only expectation this server meets is 100-continue'),
  );
  server.on('connect', (_request: IncomingMessage, socket: Socket) =>
    answerOnSocket(socket, 405, 'METHOD_NOT_ALLOWED', 'CONNECT is not supported: this is not a proxy'),
  );
}

type EdgeSettings = Pick<Config, 'HEADERS_TIMEOUT_MS' | 'REQUEST_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS'>;

/** Fastify's options for the connection edge: timeouts, shutdown, and answers given outside a route. */
export function edgeServerOptions(config: EdgeSettings) {
  return {
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // On close, idle keep-alive connections go at once; the http plugin deals with stalled ones.
    forceCloseConnections: 'idle' as const,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      requestTimeout: config.REQUEST_TIMEOUT_MS,
      // Node checks both timeouts on this interval (30 s by default), so a timeout fires late by up to it.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.HEADERS_TIMEOUT_MS / 4)),
      // Node's own 400 for a missing Host has no body or headers; the http plugin answers it instead.
      requireHostHeader: false,
    },
    clientErrorHandler,
    frameworkErrors,
    // The http plugin answers requests that arrive during shutdown, in the error envelope.
    return503OnClosing: false,
  };
}

/**
 * From the start of shutdown, closes connections that hold it up without doing anything, once they
 * have sent nothing for `stallMs`: a request whose body is unfinished is answered 408; a connection
 * between requests, or with headers still arriving, is closed. Requests being handled are left to
 * finish (close-with-grace bounds them), and a body that keeps arriving to arrive.
 */
export function closeStalledConnectionsOnShutdown(app: FastifyInstance, stallMs = SHUTDOWN_STALL_MS): void {
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const watch = (socket: Socket) => {
    const timer = setTimeout(() => {
      // The exchange on the socket is the one Node keeps there (nothing is tracked per request).
      const response = responseOn(socket);
      if (response?.req.complete) {
        timer.refresh(); // being handled: not stalled
      } else if (response && !response.headersSent) {
        answerOnSocket(socket, 408, 'REQUEST_TIMEOUT', 'the request stopped arriving while the server shuts down');
      } else {
        socket.destroy();
      }
    }, stallMs).unref();
    socket.on('data', () => timer.refresh());
    socket.once('close', () => clearTimeout(timer));
  };
  app.addHook('preClose', (done) => {
    for (const socket of sockets) watch(socket);
    done();
  });
}
