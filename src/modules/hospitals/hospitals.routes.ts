import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The hospitals module: routes are being built (see the clinical core issue). */
export const hospitalsModule = fp(async (_app: FastifyInstance) => {}, {
  name: 'hospitals',
  dependencies: ['kit', 'tenancy'],
});
