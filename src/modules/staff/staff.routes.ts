import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The staff module: routes are being built (see the clinical core issue). */
export const staffModule = fp(async (_app: FastifyInstance) => {}, { name: 'staff', dependencies: ['kit', 'tenancy'] });
