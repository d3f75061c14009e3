import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The appointments module: routes are being built (see the clinical core issue). */
export const appointmentsModule = fp(async (_app: FastifyInstance) => {}, {
  name: 'appointments',
  dependencies: ['kit', 'tenancy'],
});
