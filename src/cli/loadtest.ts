/**
 * `npm run loadtest -- --scenario mixed --connections 100 --duration 20 --token T`: one scenario
 * against a running Wardline (loopback only unless --allow-remote), with a progress bar and a
 * percentile report. Bounded: at most 1000 connections for 60 seconds.
 */
import { SingleBar } from 'cli-progress';
import { DiscoveryError, discoverScenarioData } from '../platform/load-tests/discover.js';
import { formatReport, startLoadRun } from '../platform/load-tests/load-run.js';
import { LOADTEST_USAGE, LoadtestUsageError, parseLoadtestArgs } from './loadtest-args.js';

async function main(): Promise<void> {
  const args = parseLoadtestArgs(process.argv.slice(2));
  const health = await fetch(`${args.url}/health`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  if (!health?.ok) throw new DiscoveryError(`no Wardline answers at ${args.url}/health`);
  const data = await discoverScenarioData(args.url, args.token, args.scenario);
  const bar = new SingleBar({
    format: `${args.scenario} [{bar}] {value}/{total} s | {requests} requests | {errors} errors`,
    noTTYOutput: true,
    notTTYSchedule: 5_000,
  });
  bar.start(args.durationSeconds, 0, { requests: 0, errors: 0 });
  const run = await startLoadRun(
    {
      url: args.url,
      scenario: args.scenario,
      connections: args.connections,
      durationSeconds: args.durationSeconds,
      data,
    },
    (progress) =>
      bar.update(Math.floor(progress.elapsedSeconds), { requests: progress.requests, errors: progress.errors }),
  );
  process.once('SIGINT', () => run.stop());
  const report = await run.done;
  bar.update(args.durationSeconds);
  bar.stop();
  console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (report.errors > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  if (error instanceof LoadtestUsageError) console.error(`${error.message}\n${LOADTEST_USAGE}`);
  else if (error instanceof DiscoveryError) console.error(`Cannot run the load test: ${error.message}`);
  else console.error('The load test failed:', error);
  process.exit(error instanceof LoadtestUsageError ? 2 : 1);
});
