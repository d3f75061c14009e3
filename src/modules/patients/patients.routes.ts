import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The patients module: routes are being built (see the clinical core issue). */
export const patientsModule = fp(async (_app: FastifyInstance) => {}, {
  name: 'patients',
  dependencies: ['kit', 'tenancy'],
});
