import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The encounters module: routes are being built (see the clinical core issue). */
export const encountersModule = fp(async (_app: FastifyInstance) => {}, {
  name: 'encounters',
  dependencies: ['kit', 'tenancy'],
});
