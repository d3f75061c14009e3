import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Database } from './database.js';
import { scheduleMaintenance } from './maintenance.js';

declare module 'fastify' {
  interface FastifyInstance {
    database: Database;
  }
}

/**
 * Exposes the opened database to plugins and modules, and closes it with the app. On embedded PGlite,
 * which has no autovacuum, it also vacuums and analyzes the tables that need it (maintenance.ts).
 */
export const dbPlugin = fp(
  async (app: FastifyInstance, opts: { database: Database; closeOnShutdown: boolean }) => {
    app.decorate('database', opts.database);
    if (opts.database.kind === 'pglite') {
      const stop = scheduleMaintenance(opts.database.db, app.log.child({ module: 'db' }));
      app.addHook('preClose', () => stop());
    }
    if (opts.closeOnShutdown) app.addHook('onClose', () => opts.database.close());
  },
  { name: 'db' },
);
