import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { AppError } from './errors.js';

type Settings = Pick<
  Config,
  | 'LOAD_SHED_EVENT_LOOP_DELAY_MS'
  | 'LOAD_SHED_HEAP_USED_MB'
  | 'LOAD_SHED_RSS_MB'
  | 'LOAD_SHED_SAMPLE_INTERVAL_MS'
  | 'LOAD_SHED_RETRY_AFTER_SECONDS'
>;

export interface Pressure {
  underPressure: boolean;
  /** Mean event-loop delay over the last sample, beyond the 10 ms sampling resolution (null: none measured). */
  eventLoopDelayMs: number | null;
  heapUsedMB: number;
  rssMB: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The last sample of event-loop delay and memory, and whether requests are being shed. */
    pressure(): Pressure;
  }
  interface FastifyContextConfig {
    /** under-pressure's per-route handler; `letThrough`: never shed, and never waits its turn (admission.ts). */
    pressureHandler?: (...args: never[]) => unknown;
  }
}

const MB = 1024 * 1024;
const round = (value: number) => Math.round(value * 10) / 10;

/**
 * Sheds load with @fastify/under-pressure: while the mean event-loop delay of the last sample (or
 * heap, or RSS, when bounded) is past its bound, a request is answered at once with 503
 * SERVICE_UNAVAILABLE and Retry-After instead of queueing behind the others. Routes that declare
 * `pressureHandler: letThrough` (the health probes) are never shed. Registered first, so a shed
 * request costs nothing else.
 */
export const loadSheddingPlugin = fp(
  async (app: FastifyInstance, opts: { settings: Settings }) => {
    const s = opts.settings;
    const retryAfter = String(s.LOAD_SHED_RETRY_AFTER_SECONDS);
    // Start-up (migrations, PGlite's synchronous work) blocks the loop; that delay says nothing about
    // serving, so the samples taken until two intervals after ready are not acted on.
    let countsFrom = Number.POSITIVE_INFINITY;
    app.addHook('onReady', async () => {
      countsFrom = performance.now() + 2 * s.LOAD_SHED_SAMPLE_INTERVAL_MS;
    });
    // under-pressure reports a sample with no delay measured in it (the loop was blocked the whole
    // interval, and the next sample has that delay) as Infinity: not acted on either.
    const acted = (value: number | undefined) =>
      performance.now() >= countsFrom && (value === undefined || Number.isFinite(value));

    await app.register(underPressure, {
      sampleInterval: s.LOAD_SHED_SAMPLE_INTERVAL_MS,
      maxEventLoopDelay: s.LOAD_SHED_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: s.LOAD_SHED_HEAP_USED_MB * MB,
      maxRssBytes: s.LOAD_SHED_RSS_MB * MB,
      // Called only under pressure: the envelope, decided at request time (a rejected promise goes to
      // the error handler, a resolved one lets the request through).
      pressureHandler: async (request, reply, type, value) => {
        if (!acted(value)) return;
        void reply.header('retry-after', retryAfter);
        request.log.warn({ pressure: type }, 'request shed');
        throw new AppError('SERVICE_UNAVAILABLE', 'the server is overloaded: retry later');
      },
    });
    const over = (value: number, bound: number) => bound > 0 && value > bound;
    app.decorate('pressure', (): Pressure => {
      const usage = app.memoryUsage();
      const delay = Number.isFinite(usage.eventLoopDelay) ? usage.eventLoopDelay : null;
      return {
        underPressure:
          acted(delay ?? undefined) &&
          (over(delay ?? 0, s.LOAD_SHED_EVENT_LOOP_DELAY_MS) ||
            over(usage.heapUsed, s.LOAD_SHED_HEAP_USED_MB * MB) ||
            over(usage.rssBytes, s.LOAD_SHED_RSS_MB * MB)),
        eventLoopDelayMs: delay === null ? null : round(delay),
        heapUsedMB: round(usage.heapUsed / MB),
        rssMB: round(usage.rssBytes / MB),
      };
    });
  },
  { name: 'load-shedding', dependencies: ['http'] },
);

/** A route's `config.pressureHandler` that lets its requests through under pressure (the health probes). */
export const letThrough = () => undefined;
