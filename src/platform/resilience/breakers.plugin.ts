import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { Breakers } from './breakers.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Circuit breakers around outside services: `app.breakers.for('webhook').fire((signal) => ...)`. */
    breakers: Breakers;
  }
}

type Settings = Pick<
  Config,
  'breakerTimeouts' | 'BREAKER_ERROR_PERCENT' | 'BREAKER_VOLUME_THRESHOLD' | 'BREAKER_RESET_MS'
>;

/** Decorates `app.breakers`; a change of state is logged, and the breakers stop with the app. */
export const breakersPlugin = fp(
  async (app: FastifyInstance, opts: { settings: Settings }) => {
    const s = opts.settings;
    const breakers = new Breakers({
      timeouts: s.breakerTimeouts,
      errorThresholdPercentage: s.BREAKER_ERROR_PERCENT,
      volumeThreshold: s.BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: s.BREAKER_RESET_MS,
      onStateChange: (name, state, host) =>
        app.log[state === 'open' ? 'warn' : 'info']({ breaker: name, host, state }, `circuit breaker ${state}`),
    });
    app.decorate('breakers', breakers);
    app.addHook('onClose', async () => breakers.shutdown());
  },
  { name: 'breakers' },
);
