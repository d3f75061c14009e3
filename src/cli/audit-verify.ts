/**
 * `npm run audit:verify [-- --org ID]`: walks the audit hash chains (every organization's and the
 * platform's, or one organization's) and reports the first broken link of each. Exits 0 when every
 * chain holds, 1 when one does not (or on an error), 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { type ChainReport, chainIds, pendingEvents, verifyChain } from '../platform/audit/audit-verify.js';
import { ConfigError, loadConfig } from '../config.js';
import { lockDataDir } from '../platform/db/data-dir-lock.js';
import { openDatabase } from '../platform/db/database.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function describe(report: ChainReport): string {
  if (!report.broken) return `ok      ${report.chainId}: ${report.events} events, every link holds`;
  const { seq, problem, eventId } = report.broken;
  const what = { altered: 'altered', missing: 'missing (removed)', relinked: 'out of place (reordered or relinked)' }[
    problem
  ];
  return (
    `BROKEN  ${report.chainId}: event ${seq} is ${what}${eventId ? ` (id ${eventId})` : ''}; ` +
    `${report.events} events before it hold`
  );
}

let args: { org?: string };
try {
  args = parseArgs({ options: { org: { type: 'string' } }, allowPositionals: false }).values;
} catch (error) {
  console.error(`${(error as Error).message}\nUsage: npm run audit:verify [-- --org ORGANIZATION_ID]`);
  process.exit(2);
}

try {
  const config = loadConfig();
  if (config.embedded) {
    // Never beside a running server (two processes would corrupt PGlite), and never on a folder with no database in it.
    lockDataDir(config.DATA_DIR, 'audit check');
    if (!existsSync(join(config.pgliteDir, 'PG_VERSION'))) {
      throw new ConfigError([`DATA_DIR: there is no Wardline database in ${config.DATA_DIR}`]);
    }
  }
  const database = config.DATABASE_URL
    ? await openDatabase({ url: config.DATABASE_URL, poolSize: 1 })
    : await openDatabase({ dataDir: config.pgliteDir });
  try {
    const known = await chainIds(database.db);
    if (args.org && !known.includes(args.org)) {
      console.error(`--org: no audit events for an organization with the id ${args.org}`);
      process.exitCode = 1;
    } else {
      const chains = args.org ? [args.org] : known;
      let broken = 0;
      for (const chain of chains) {
        const report = await verifyChain(database.db, chain);
        if (report.broken) broken++;
        console.log(describe(report));
      }
      if (chains.length === 0) console.log('No audit events yet.');
      const pending = await pendingEvents(database.db);
      if (pending > 0)
        console.log(
          `${pending} events of committed writes are not linked into their chain yet (the server links them ` +
            'after each write and when it starts).',
        );
      console.log(
        broken === 0 ? `All ${chains.length} chains hold.` : `${broken} of ${chains.length} chains are broken.`,
      );
      process.exitCode = broken === 0 ? 0 : 1;
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
