import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';
import { letThrough } from './load-shedding.js';

/** Requests being served and waiting to be, for metrics and readiness. */
export interface AdmissionStats {
  /** How many may be served at once (0: no limit). */
  limit: number;
  active: number;
  waiting: number;
}

export interface AdmissionOptions {
  /** Requests served at once; 0 turns the line off. */
  limit: number;
  /** Requests that may wait; one more is answered 503 at once. */
  maxWaiting: number;
  /** How long a request may wait before it is answered 503. */
  maxWaitMs: number;
  /** Retry-After of those 503s. */
  retryAfterSeconds: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    admission(): AdmissionStats;
  }
}

/** A request in the line, or served. */
interface Turn {
  reply: FastifyReply;
  done: HookHandlerDoneFunction;
  timer?: NodeJS.Timeout;
  leave?: () => void;
}

const state = Symbol('admission turn');
type Holder = FastifyReply & { [state]?: 'waiting' | 'serving' | 'released' | 'refused' };

/** How long after its connection closed a request still holding its turn gives it back regardless. */
const ORPHAN_RELEASE_MS = 60_000;

/** Whether a body follows the headers (as Node's parser decides: a length, or chunks). */
const hasBody = (raw: IncomingMessage) =>
  raw.headers['transfer-encoding'] !== undefined ||
  (raw.headers['content-length'] !== undefined && raw.headers['content-length'] !== '0');

/**
 * At most `limit` requests are served at once; the others wait their turn, first come first served.
 * Under more load than the server can take, the event loop's turns then stay short, a transaction
 * does not hold its pooled connection across turns lengthened by hundreds of newly started requests,
 * and a request that needs several round trips (a registration) does not wait at each of them behind
 * requests that came after it.
 *
 * A request without a body takes its turn before any of its work starts (`onRequest`); one with a
 * body once the body is read and validated (`preHandler`), so that a slow upload holds no turn.
 * (Taking every turn in `preHandler` was measured: with 1,000 connections, authenticating and
 * rate-limiting every waiting read up front cost more CPU per request and timed requests out.) A
 * request gives its turn back when its handler has answered (`onSend`, errors included), not when its
 * client leaves: the work goes on until then. A request whose client leaves while it waits leaves the
 * line. The line is bounded, in length and in time: past either, the answer is 503 with Retry-After.
 * The health probes never wait.
 */
export const admissionPlugin = fp(
  async (app: FastifyInstance, opts: AdmissionOptions) => {
    let active = 0;
    // The line, in order of arrival (a Set: leaving it from anywhere is O(1), and so is finding its first).
    const line = new Set<Turn>();
    app.decorate('admission', (): AdmissionStats => ({ limit: opts.limit, active, waiting: line.size }));
    if (opts.limit <= 0) return;
    const retryAfter = String(opts.retryAfterSeconds);

    const refuse = (turn: Turn, message: string) => {
      (turn.reply as Holder)[state] = 'refused';
      void turn.reply.header('retry-after', retryAfter);
      turn.done(new AppError('SERVICE_UNAVAILABLE', message));
    };
    const serve = (turn: Turn) => {
      const holder = turn.reply as Holder;
      holder[state] = 'serving';
      // The backstop for an answer that never came through this plugin's onSend: given back once the answer
      // is written, or, for a handler that resolved nothing after its client left, ORPHAN_RELEASE_MS after the
      // connection closed.
      holder.raw.once('close', () => {
        if (holder[state] !== 'serving') return;
        if (holder.raw.writableFinished) release(holder);
        else setTimeout(() => release(holder), ORPHAN_RELEASE_MS).unref();
      });
      turn.done();
    };
    const leaveLine = (turn: Turn) => {
      if (!line.delete(turn)) return false;
      clearTimeout(turn.timer);
      turn.leave?.();
      return true;
    };
    // A turn given back goes straight to the longest waiting request, if any; that request goes on from a
    // microtask, not inside the onSend of the one that gave the turn back (whose errors it would take).
    const release = (reply: FastifyReply) => {
      const holder = reply as Holder;
      if (holder[state] !== 'serving') return;
      holder[state] = 'released';
      const next = line.values().next();
      if (next.done) {
        active--;
        return;
      }
      leaveLine(next.value);
      queueMicrotask(() => serve(next.value));
    };

    const take = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      // Once per request: a request sent on to the 404 handler (reply.callNotFound) runs the hooks again.
      if ((reply as Holder)[state] !== undefined) return done();
      const turn: Turn = { reply, done };
      const socket = request.raw.socket;
      if (socket.destroyed) return refuse(turn, 'the client went away before the request had its turn');
      if (active < opts.limit) {
        active++;
        return serve(turn);
      }
      if (line.size >= opts.maxWaiting) return refuse(turn, 'the server is busy: retry later');
      (reply as Holder)[state] = 'waiting';
      line.add(turn);
      const out = (message: string) => {
        if (leaveLine(turn)) refuse(turn, message);
      };
      turn.timer = setTimeout(
        () => out('the server is busy: the request waited too long for its turn'),
        opts.maxWaitMs,
      );
      // A client that goes away takes its request out of the line (the socket's 'close', not the
      // request's: that also comes once its body is read). Its answer goes nowhere; the lifecycle ends.
      const gone = () => out('the client went away while the request waited');
      socket.once('close', gone);
      turn.leave = () => socket.removeListener('close', gone);
    };
    // A request without a body waits before any of its work (authentication, rate limits) starts; one
    // with a body once that body is read, so that a slow upload holds no turn.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config?.pressureHandler === letThrough || hasBody(request.raw)) return done();
      take(request, reply, done);
    });
    app.addHook('preHandler', (request, reply, done) => {
      if (request.routeOptions.config?.pressureHandler === letThrough || !hasBody(request.raw)) return done();
      take(request, reply, done);
    });
    // The handler has answered (or failed, or been refused after its turn began): the turn is free. (An
    // answer that never went through here is caught by the response's 'close', in `serve`.)
    app.addHook('onSend', (_request, reply, payload, done) => {
      release(reply);
      done(null, payload);
    });
  },
  { name: 'admission' },
);
