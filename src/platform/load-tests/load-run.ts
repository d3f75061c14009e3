/**
 * One bounded load run with autocannon: a scenario against a base URL, a number of connections for a
 * number of seconds, with a tick each second and a percentile report at the end. Used by
 * `npm run loadtest` (its own process) and by the admin load-test endpoint (inside the server).
 */
import type autocannon from 'autocannon';
import { AppError } from '../http/errors.js';
import { autocannonRequests, ScenarioCursor, type ScenarioData, type ScenarioName } from './scenarios.js';

/** Hard bounds of every run, whoever starts it. */
export const LIMITS = { connections: 1000, durationSeconds: 60 } as const;

export interface LoadRunOptions {
  url: string;
  scenario: ScenarioName;
  connections: number;
  durationSeconds: number;
  data: ScenarioData;
  /** Seconds before an unanswered request counts as an error (autocannon's timeout). */
  timeoutSeconds?: number;
}

export interface LoadProgress {
  elapsedSeconds: number;
  requests: number;
  errors: number;
}

export interface LoadReport {
  scenario: ScenarioName;
  connections: number;
  durationSeconds: number;
  requests: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Every request that did not get a 2xx: non-2xx answers, socket errors and timeouts. */
  errors: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** cold-read only: ids read, and whether some were read twice (the set was smaller than the run). */
  coldReads?: { distinctIds: number; wrapped: boolean };
}

export interface LoadRun {
  /** Resolves with the report when the run ends (its duration passed, or stop() was called). */
  done: Promise<LoadReport>;
  stop(): void;
}

/**
 * autocannon is a development dependency: a production install without it still starts, and the
 * load-test endpoint then answers 503.
 */
async function loadAutocannon(): Promise<typeof autocannon> {
  try {
    return (await import('autocannon')).default;
  } catch {
    throw new AppError('SERVICE_UNAVAILABLE', 'load tests need autocannon, a development dependency, installed');
  }
}

export async function startLoadRun(
  options: LoadRunOptions,
  onTick?: (progress: LoadProgress) => void,
): Promise<LoadRun> {
  if (options.connections < 1 || options.connections > LIMITS.connections)
    throw new RangeError(`connections must be 1 to ${LIMITS.connections}`);
  if (options.durationSeconds < 1 || options.durationSeconds > LIMITS.durationSeconds)
    throw new RangeError(`duration must be 1 to ${LIMITS.durationSeconds} seconds`);
  const run = await loadAutocannon();
  const cursor = new ScenarioCursor(options.scenario, options.data);
  const started = Date.now();
  let requests = 0;
  let errors = 0;
  let settle: { resolve: (report: LoadReport) => void; reject: (error: unknown) => void } | undefined;
  const done = new Promise<LoadReport>((resolve, reject) => (settle = { resolve, reject }));
  const instance = run(
    {
      url: options.url,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: options.timeoutSeconds ?? 10,
      requests: autocannonRequests(cursor, options.data.token),
    },
    (error, result) => {
      clearInterval(ticker);
      if (error) settle!.reject(error);
      else settle!.resolve(reportOf(options, result, cursor));
    },
  );
  instance.on('response', (_client: unknown, statusCode: number) => {
    requests++;
    if (statusCode < 200 || statusCode > 299) errors++;
  });
  instance.on('reqError', () => {
    errors++;
  });
  const ticker = setInterval(() => {
    onTick?.({ elapsedSeconds: Math.min((Date.now() - started) / 1000, options.durationSeconds), requests, errors });
  }, 1000);
  return { done, stop: () => instance.stop() };
}

function reportOf(options: LoadRunOptions, result: autocannon.Result, cursor: ScenarioCursor): LoadReport {
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  const answered = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
  const socketErrors = Math.max(result.errors - result.timeouts, 0);
  const coldIds = options.data.coldIds.length;
  return {
    scenario: options.scenario,
    connections: options.connections,
    durationSeconds: result.duration,
    requests: answered,
    rps: Math.round(answered / Math.max(result.duration, 0.001)),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.non2xx + result.errors,
    non2xx: result.non2xx,
    socketErrors,
    timeouts: result.timeouts,
    statusCodes,
    ...(options.scenario === 'cold-read'
      ? {
          coldReads: {
            distinctIds: Math.min(cursor.coldRequests, coldIds),
            wrapped: cursor.coldRequests > coldIds,
          },
        }
      : {}),
  };
}

/** The report as printable lines (the CLI prints them; the same figures the endpoint returns). */
export function formatReport(report: LoadReport): string {
  const l = report.latencyMs;
  const codes = Object.entries(report.statusCodes)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
  return [
    `scenario ${report.scenario}, ${report.connections} connections, ${report.durationSeconds.toFixed(1)} s`,
    `  requests ${report.requests}, ${report.rps} req/s`,
    `  latency ms  p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`,
    `  errors ${report.errors} (non-2xx ${report.non2xx}, socket ${report.socketErrors}, timeouts ${report.timeouts})`,
    `  status codes: ${codes || 'none'}`,
    ...(report.coldReads
      ? [
          `  cold reads: ${report.coldReads.distinctIds} distinct patients` +
            (report.coldReads.wrapped ? ' (the set ran out: later reads repeated ids and may have been cached)' : ''),
        ]
      : []),
  ].join('\n');
}
