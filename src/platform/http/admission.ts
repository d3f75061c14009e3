import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { letThrough } from './load-shedding.js';

/** Requests being served and waiting to be, for metrics and readiness. */
export interface AdmissionStats {
  /** How many may be served at once (0: no limit). */
  limit: number;
  active: number;
  waiting: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    admission(): AdmissionStats;
  }
}

/**
 * At most `limit` requests are served at once; the others wait for their turn, first come first
 * served, before any of their work starts. Under more load than the server can take, the event
 * loop's turns then stay short: a transaction does not hold its pooled connection across turns
 * lengthened by hundreds of newly arrived requests, and no request waits behind others that arrived
 * after it. What waits is a parsed request and its socket; one whose client goes away (or that the
 * request timeout answers) leaves the line. Load shedding (503) applies first, when the event loop
 * lags past its bound. The health probes never wait. A limit of 0 turns it off.
 */
export const admissionPlugin = fp(
  async (app: FastifyInstance, opts: { limit: number }) => {
    let active = 0;
    const waiting: Array<() => void> = [];
    app.decorate('admission', (): AdmissionStats => ({ limit: opts.limit, active, waiting: waiting.length }));
    if (opts.limit <= 0) return;

    // A slot freed goes straight to the longest waiting request, if any.
    const release = () => {
      const next = waiting.shift();
      if (next) next();
      else active--;
    };
    app.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.config?.pressureHandler === letThrough) return done();
      let admitted = false;
      const start = () => {
        admitted = true;
        done();
      };
      // Once per response: sent, or its connection gone.
      reply.raw.once('close', () => {
        if (admitted) return release();
        const at = waiting.indexOf(start);
        if (at >= 0) waiting.splice(at, 1);
      });
      if (active < opts.limit) {
        active++;
        return start();
      }
      waiting.push(start);
    });
  },
  { name: 'admission' },
);
