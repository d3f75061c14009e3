/** `npm run db:migrate`: applies pending migrations to the configured database and exits. */
import { ConfigError, loadConfig } from '../config.js';
import { lockDataDir } from '../platform/db/data-dir-lock.js';
import { openDatabase } from '../platform/db/database.js';

try {
  const config = loadConfig();
  if (config.embedded) lockDataDir(config.DATA_DIR, 'migration');
  const database = config.DATABASE_URL
    ? await openDatabase({ url: config.DATABASE_URL, poolSize: 1 })
    : await openDatabase({ dataDir: config.pgliteDir });
  await database.migrate();
  await database.close();
  console.log(`Migrations applied to ${config.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${config.DATA_DIR}`}.`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
