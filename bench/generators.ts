/**
 * The load generators: wrk (one thread, Lua scenarios in bench/wrk/scenario.lua) when it is
 * installed, autocannon in this process otherwise. Both return the same figures, and the CPU time the
 * generator itself used, so a run can tell when the generator rather than the server was the limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { autocannonRequests, ScenarioCursor, type ScenarioName } from '../src/platform/load-tests/scenarios.js';

export type BenchScenario = 'hello' | 'pk' | ScenarioName;

export interface LoadData {
  token: string | null;
  hotIds: string[];
  coldIds: string[];
  /** Already percent-encoded. */
  prefixes: string[];
  /** Folder holding the same lists as files, for wrk. */
  dir: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  /** CPU time of the load generator, milliseconds. */
  generatorCpuMs: number;
  /** wrk only: the errors by kind (status: answers outside 2xx and 3xx). */
  errorKinds?: Record<'status' | 'connect' | 'read' | 'write' | 'timeout', number>;
}

export interface LoadOptions {
  url: string;
  scenario: BenchScenario;
  connections: number;
  seconds: number;
  data: LoadData;
  /** cold-read and pk: where to start in coldIds. */
  offset: number;
}

export function wrkAvailable(): boolean {
  if (process.env.BENCH_GENERATOR === 'autocannon') return false;
  return spawnSync('wrk', ['--version']).error === undefined;
}

const LUA = fileURLToPath(new URL('./wrk/scenario.lua', import.meta.url));

/** CPU time (user + system, ms) of this process's children that have ended and been waited for. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3; cutime and cstime are fields 16 and 17.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const path = options.scenario === 'hello' ? '/hello' : options.scenario === 'health' ? '/health' : '/';
  const before = childrenCpuMs();
  const child = spawn(
    'wrk',
    [
      '-t1',
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      '--timeout',
      '10s',
      '-s',
      LUA,
      `${options.url}${path}`,
    ],
    {
      env: {
        ...process.env,
        WRK_SCENARIO: options.scenario,
        WRK_TOKEN: options.data.token ?? '',
        WRK_DATA: options.data.dir,
        WRK_OFFSET: String(options.offset),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = /WRK_RESULT (\{.*\})/.exec(out);
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${out}`);
  const r = JSON.parse(line[1]!) as Record<string, number>;
  const seconds = r.durationUs! / 1e6;
  return {
    requests: r.requests!,
    seconds,
    rps: r.requests! / seconds,
    p50: r.p50! / 1000,
    p90: r.p90! / 1000,
    p99: r.p99! / 1000,
    max: r.max! / 1000,
    errors: r.status! + r.connect! + r.read! + r.write! + r.timeout!,
    errorKinds: { status: r.status!, connect: r.connect!, read: r.read!, write: r.write!, timeout: r.timeout! },
    generatorCpuMs: childrenCpuMs() - before,
  };
}

export async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { data } = options;
  const cold = [...data.coldIds.slice(options.offset), ...data.coldIds.slice(0, options.offset)];
  let requests: autocannon.Request[] | undefined;
  let path = '/';
  if (options.scenario === 'hello') path = '/hello';
  else if (options.scenario === 'pk') {
    let i = 0;
    requests = [{ setupRequest: (request) => ({ ...request, path: `/patients/${cold[i++ % cold.length]}` }) }];
  } else {
    const prefixes = data.prefixes.map((p) => decodeURIComponent(p));
    const cursor = new ScenarioCursor(options.scenario, { ...data, coldIds: cold, prefixes });
    requests = autocannonRequests(cursor, data.token);
  }
  const before = process.cpuUsage();
  const result = await autocannon({
    url: `${options.url}${path}`,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    ...(requests ? { requests } : {}),
  });
  const cpu = process.cpuUsage(before);
  const answered = result.requests.total;
  return {
    requests: answered,
    seconds: result.duration,
    rps: answered / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.non2xx + result.errors,
    generatorCpuMs: (cpu.user + cpu.system) / 1000,
  };
}
