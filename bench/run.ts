/**
 * `npm run bench [-- --quick] [-- --only mixed --connections 1000 --duration 20] [-- --profile DIR]`
 *
 * Wardline against the machine's ceilings, in one run, on a database of 100,000 synthetic patients:
 *   hello      bare Fastify, a small JSON answer            (the ceiling of /health)
 *   pk-read    bare Fastify + one primary-key SELECT         (the ceiling of everything else)
 *   health     Wardline GET /health
 *   cold-read  a patient by id, each id read once: never in any cache of the server
 *   read       a patient by id within a working set of 1,000 (cached after the warm-up)
 *   search     patients by a family-name prefix
 *   create     a new patient
 *   mixed      70 % read, 20 % search, 10 % create
 * Each server is its own process (Wardline is dist/main.js, built first as `npm start` does, with the
 * production settings; `--profile DIR` writes its V8 CPU profile there when it stops), the load
 * generator another one (wrk -t1 when installed, autocannon otherwise). Each scenario gets a warm-up,
 * then is measured; the table gives req/s, p50, p99, errors, the ratio to its ceiling, the server's
 * peak RSS, the CPU used by the server and by the generator, and the CPU time each request cost the
 * server and PostgreSQL (when it runs on this machine: the budget the two share on its cores).
 * Results go to bench/results/.
 * PGlite by default; PostgreSQL with DATABASE_URL, plus Redis with REDIS_URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  BENCH_EMAIL,
  BENCH_PASSWORD,
  copyPgliteSeed,
  ensurePgliteSeed,
  postgresRunDatabase,
  type SeedReport,
} from './dataset.js';
import {
  type BenchScenario,
  type LoadData,
  type LoadResult,
  runAutocannon,
  runWrk,
  wrkAvailable,
} from './generators.js';

const PATIENTS = 100_000;
const HOT = 1000;
const ALL: BenchScenario[] = ['hello', 'pk', 'health', 'cold-read', 'read', 'search', 'create', 'mixed'];
const CEILING: Partial<Record<BenchScenario, BenchScenario>> = {
  health: 'hello',
  'cold-read': 'pk',
  read: 'pk',
  search: 'pk',
  create: 'pk',
  mixed: 'pk',
};
const NAMES: Record<BenchScenario, string> = {
  hello: 'bare-hello',
  pk: 'bare-pk-read',
  health: 'health',
  'cold-read': 'cold-read',
  read: 'warm-read',
  search: 'search',
  create: 'create',
  mixed: 'mixed',
};

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    only: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    reseed: { type: 'boolean' },
    profile: { type: 'string' },
  },
});
const quick = args.quick === true;
const reseed = args.reseed === true;
const CONNECTIONS = Number(args.connections ?? 50);
const SECONDS = Number(args.duration ?? (quick ? 3 : 8));
const WARMUP = Number(args.warmup ?? (quick ? 1 : 2));
const ROUNDS = Number(args.rounds ?? (quick ? 1 : 2));
const only = args.only?.split(',').map((s) => s.trim()) as BenchScenario[] | undefined;
const scenarios = only ? ALL.filter((s) => only.includes(s)) : ALL;
if (only && only.some((s) => !ALL.includes(s))) throw new Error(`--only takes some of ${ALL.join(', ')}`);

const mode = process.env.DATABASE_URL ? (process.env.REDIS_URL ? 'postgres+redis' : 'postgres') : 'pglite';
const generator = wrkAvailable() ? 'wrk' : 'autocannon';
const log = (line: string) => console.log(line);
const startedAt = performance.now();

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  logFile: string;
}

const runDir = mkdtempSync(join(tmpdir(), 'wardline-bench-run-'));
const servers: Server[] = [];
let dropDatabase = async () => {};

function spawnServer(name: string, argv: string[], env: Record<string, string>, port: number): Server {
  const logFile = join(runDir, `${name}.log`);
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
    writeFileSync(logFile, output);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const server = { name, child, url: `http://127.0.0.1:${port}`, logFile };
  servers.push(server);
  return server;
}

/** Compiles Wardline as `npm start` does, so that the server measured is the one that runs in production. */
async function buildWardline(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const build = spawn(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
  const code = await new Promise((resolve) => build.once('exit', resolve));
  if (code !== 0) throw new Error('the TypeScript build failed');
}

async function waitFor(server: Server, path: string, seconds = 180): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(`${server.name} exited (${server.child.exitCode}):\n${readFileSync(server.logFile, 'utf8')}`);
    }
    const ok = await fetch(`${server.url}${path}`)
      .then((r) => r.status < 500)
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${server.name} did not start within ${seconds} s`);
}

/** Resident memory (MiB) and CPU time (ms) of a process, from /proc. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}
function cpuMs(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}
function statCpuMs(stat: string): number {
  const fields = stat.split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
/**
 * Whether `url` names a server on this machine: loopback, or a Unix socket (no host, `?host=/path`, or the
 * socket's folder percent-encoded as the host, `postgres://%2Fvar%2Frun%2Fpostgresql/db`).
 */
function isLocal(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const { hostname } = new URL(url);
    return ['', 'localhost', '127.0.0.1', '[::1]'].includes(hostname) || hostname.toLowerCase().startsWith('%2f');
  } catch {
    return false;
  }
}

/** Whether DATABASE_URL is a PostgreSQL on this machine, whose processes' CPU can be read. */
const databaseIsLocal = isLocal(process.env.DATABASE_URL);

/**
 * CPU time (ms) of each PostgreSQL process on this machine, by pid: its backends (the connections of
 * the servers under test) and its background writers. Empty when none is visible: PGlite runs inside
 * the server, and a remote PostgreSQL is not measured.
 */
function postgresCpu(): Map<string, number> {
  const byPid = new Map<string, number>();
  if (!databaseIsLocal) return byPid;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes(' (postgres) ')) byPid.set(entry, statCpuMs(stat));
    } catch {
      // The process ended meanwhile.
    }
  }
  return byPid;
}

/**
 * The PostgreSQL CPU (ms) spent between two readings, null when none is visible. A backend that ended
 * meanwhile is left out (a pool closes connections that were idle for a while; what they did before
 * counts for no one), one that started is counted whole.
 */
function postgresCpuSince(before: Map<string, number>): number | null {
  if (before.size === 0) return null;
  let spent = 0;
  for (const [pid, ms] of postgresCpu()) spent += ms - (before.get(pid) ?? 0);
  return spent;
}

/** The Redis at REDIS_URL, asked for its CPU figures (INFO cpu) and cleared of the run's keys at the end. */
const redisInfo = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL, { lazyConnect: true }) : null;

/**
 * CPU time (ms) the Redis server at REDIS_URL has used since it started, from its own INFO: all its
 * threads, and its children (a background save). That server only, wherever it runs; null without
 * REDIS_URL or when it does not answer.
 */
async function redisCpuMs(): Promise<number | null> {
  if (!redisInfo) return null;
  try {
    const info = await redisInfo.info('cpu');
    const seconds = ['used_cpu_sys', 'used_cpu_user', 'used_cpu_sys_children', 'used_cpu_user_children'].map((field) =>
      Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0),
    );
    return seconds.reduce((a, b) => a + b, 0) * 1000;
  } catch {
    return null;
  }
}

async function prepareData(ids: { id: string; family: string }[]): Promise<LoadData> {
  // Deterministic shuffle (the same split every run), seeded by a small LCG.
  let state = 12345;
  const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const shuffled = [...ids];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const hotIds = shuffled.slice(0, HOT).map((p) => p.id);
  const coldIds = shuffled.slice(HOT).map((p) => p.id);
  const prefixes = [...new Set(shuffled.map((p) => encodeURIComponent(p.family.slice(0, 3))))];
  const dir = join(runDir, 'data');
  mkdirSync(dir);
  writeFileSync(join(dir, 'hot.txt'), `${hotIds.join('\n')}\n`);
  writeFileSync(join(dir, 'cold.txt'), `${coldIds.join('\n')}\n`);
  writeFileSync(join(dir, 'prefixes.txt'), `${prefixes.join('\n')}\n`);
  return { token: null, hotIds, coldIds, prefixes, dir };
}

const PATIENT_IDS = 'select id, family_name as family from patients order by id';

async function setUp() {
  let seed: SeedReport;
  let wardlineEnv: Record<string, string>;
  let pkEnv: Record<string, string>;
  let ids: { id: string; family: string }[];
  if (process.env.DATABASE_URL) {
    const run = await postgresRunDatabase(process.env.DATABASE_URL, PATIENTS, log, reseed);
    dropDatabase = async () => void (await run.drop());
    seed = run.report;
    const client = new pg.Client({ connectionString: run.url });
    await client.connect();
    ids = (await client.query<{ id: string; family: string }>(PATIENT_IDS)).rows;
    await client.end();
    wardlineEnv = { DATABASE_URL: run.url };
    pkEnv = { DATABASE_URL: run.url };
  } else {
    const made = await ensurePgliteSeed(PATIENTS, log, reseed);
    seed = made.report;
    const wardlineDir = copyPgliteSeed(made.path, runDir, 'wardline');
    const pkDir = copyPgliteSeed(made.path, runDir, 'pk');
    const client = await PGlite.create({ dataDir: join(pkDir, 'pglite'), extensions: { btree_gist } });
    ids = (await client.query<{ id: string; family: string }>(PATIENT_IDS)).rows;
    await client.close();
    wardlineEnv = { DATA_DIR: wardlineDir };
    pkEnv = { DATA_DIR: pkDir, DATABASE_URL: '' };
  }
  const data = await prepareData(ids);
  return { seed, wardlineEnv, pkEnv, data };
}

interface Row {
  name: string;
  scenario: BenchScenario;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  ratio: number | null;
  ceiling: string | null;
  peakRssMiB: number;
  serverCpuPercent: number;
  generatorCpuPercent: number;
  /** CPU time per request (µs) of the server process, of PostgreSQL and of Redis (null when not measured). */
  serverCpuUs: number;
  databaseCpuUs: number | null;
  redisCpuUs: number | null;
  requests: number;
  note?: string;
}

async function measure(
  server: Server,
  scenario: BenchScenario,
  data: LoadData,
  offsets: Map<BenchScenario, number>,
): Promise<Sample> {
  const run = generator === 'wrk' ? runWrk : runAutocannon;
  const pid = server.child.pid!;
  const base = { url: server.url, scenario, connections: CONNECTIONS, data };
  const warm = await run({ ...base, seconds: WARMUP, offset: offsets.get(scenario) ?? 0 });
  // Requests still in flight when the warm-up stopped may have read a few ids past its count.
  offsets.set(scenario, (offsets.get(scenario) ?? 0) + warm.requests + CONNECTIONS);
  let peak = rssMiB(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
  const cpuBefore = cpuMs(pid);
  const databaseBefore = postgresCpu();
  const redisBefore = await redisCpuMs();
  const result = await run({ ...base, seconds: SECONDS, offset: offsets.get(scenario)! });
  clearInterval(sampler);
  const serverCpu = cpuMs(pid) - cpuBefore;
  const databaseCpu = postgresCpuSince(databaseBefore);
  const redisAfter = redisBefore === null ? null : await redisCpuMs();
  const redisCpu = redisBefore === null || redisAfter === null ? null : redisAfter - redisBefore;
  offsets.set(scenario, offsets.get(scenario)! + result.requests + CONNECTIONS);
  return { result, peak: Math.max(peak, rssMiB(pid)), serverCpu, databaseCpu, redisCpu };
}

interface Sample {
  result: LoadResult;
  peak: number;
  /** CPU time (ms) of the server process, of PostgreSQL and of Redis (null: not measured) during the measured run. */
  serverCpu: number;
  databaseCpu: number | null;
  redisCpu: number | null;
}

function summarize(scenario: BenchScenario, samples: Sample[]) {
  const total = (f: (s: Sample) => number) => samples.reduce((a, s) => a + f(s), 0);
  const mean = (f: (s: Sample) => number) => total(f) / samples.length;
  const seconds = total((s) => s.result.seconds);
  const requests = total((s) => s.result.requests) || 1;
  const perRequest = (cpu: (s: Sample) => number | null, used: boolean) =>
    !used || samples.some((s) => cpu(s) === null) ? null : (total((s) => cpu(s) ?? 0) * 1000) / requests;
  return {
    name: NAMES[scenario],
    scenario,
    rps: mean((s) => s.result.rps),
    p50: mean((s) => s.result.p50),
    p99: Math.max(...samples.map((s) => s.result.p99)),
    errors: total((s) => s.result.errors),
    requests: total((s) => s.result.requests),
    peakRssMiB: Math.max(...samples.map((s) => s.peak)),
    serverCpuPercent: (total((s) => s.serverCpu) / (seconds * 1000)) * 100,
    generatorCpuPercent: (total((s) => s.result.generatorCpuMs) / (seconds * 1000)) * 100,
    serverCpuUs: (total((s) => s.serverCpu) * 1000) / requests,
    // Only where this machine runs the database and the scenario used it (the bare hello does not).
    databaseCpuUs: perRequest((s) => s.databaseCpu, scenario !== 'hello'),
    // Only Wardline's own scenarios: the bare servers do not use Redis.
    redisCpuUs: perRequest((s) => s.redisCpu, scenario !== 'hello' && scenario !== 'pk'),
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main() {
  log(
    `Wardline benchmark: ${mode}, ${generator}${generator === 'wrk' ? ' -t1' : ' (in this process)'}, ` +
      `${CONNECTIONS} connections, ${ROUNDS} x ${SECONDS} s per scenario after a ${WARMUP} s warm-up`,
  );
  const { seed, wardlineEnv, pkEnv, data } = await setUp();
  if (seed.seeded) log(`One-time seed: ${fmt(seed.seconds, 1)} s (kept for the next runs; not counted below).`);
  const setupStarted = performance.now();
  const needs = new Set(scenarios.map((s) => (s === 'hello' ? 'hello' : s === 'pk' ? 'pk' : 'wardline')));
  for (const s of scenarios) if (CEILING[s] && !only) needs.add(CEILING[s] === 'hello' ? 'hello' : 'pk');
  const tsx = ['--import', 'tsx'];
  if (needs.has('wardline')) await buildWardline();
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const started: Record<string, Server> = {};
  if (needs.has('hello')) started.hello = spawnServer('hello', [...tsx, 'bench/server.ts', 'hello', '5611'], {}, 5611);
  if (needs.has('pk')) started.pk = spawnServer('pk', [...tsx, 'bench/server.ts', 'pk', '5612'], pkEnv, 5612);
  const redisPrefix = `wardline-bench:${randomBytes(4).toString('hex')}:`;
  if (needs.has('wardline')) {
    started.wardline = spawnServer(
      'wardline',
      [...profile, 'dist/main.js'],
      {
        NODE_ENV: 'production',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        HOST: '127.0.0.1',
        PORT: '5613',
        AUTH_SECRET: randomBytes(32).toString('hex'),
        REDIS_KEY_PREFIX: redisPrefix,
        DEMO: '0',
        ...wardlineEnv,
      },
      5613,
    );
  }
  await Promise.all([
    started.hello && waitFor(started.hello, '/hello'),
    started.pk && waitFor(started.pk, `/patients/${data.hotIds[0]}`),
    started.wardline && waitFor(started.wardline, '/health'),
  ]);
  if (started.wardline) {
    const signIn = () =>
      fetch(`${started.wardline!.url}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: BENCH_EMAIL, password: BENCH_PASSWORD }),
      });
    let res = await signIn();
    // Just started on a busy machine, the server may shed load (its start-up work lags the event loop): it
    // says when to come back.
    for (let attempt = 1; res.status === 503 && attempt <= 5; attempt++) {
      const seconds = Number(res.headers.get('retry-after') ?? 1);
      log(`  sign-in answered 503 (load shedding while the server settles); retrying in ${seconds} s`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      res = await signIn();
    }
    if (!res.ok) throw new Error(`sign-in answered ${res.status}: ${await res.text()}`);
    // The signed form, as @wardline/client and Better Auth's bearer documentation have clients use it.
    data.token = res.headers.get('set-auth-token') ?? ((await res.json()) as { token: string }).token;
  }
  log(
    `Servers up in ${fmt((performance.now() - setupStarted) / 1000, 1)} s; load average ${loadavg()[0]!.toFixed(1)}.`,
  );

  const offsets = new Map<BenchScenario, number>();
  const samples = new Map<BenchScenario, Sample[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of scenarios) {
      const server = scenario === 'hello' ? started.hello! : scenario === 'pk' ? started.pk! : started.wardline!;
      const sample = await measure(server, scenario, data, offsets);
      samples.set(scenario, [...(samples.get(scenario) ?? []), sample]);
      const r = sample.result;
      log(
        `  round ${round + 1} ${NAMES[scenario].padEnd(12)} ${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.p50, 2)} ms  ` +
          `p99 ${fmt(r.p99, 2)} ms  errors ${r.errors}` +
          (r.errors > 0 && r.errorKinds ? ` ${JSON.stringify(r.errorKinds)}` : ''),
      );
    }
  }

  const summaries = scenarios.map((s) => summarize(s, samples.get(s)!));
  const rps = new Map(summaries.map((s) => [s.scenario, s.rps]));
  const rows: Row[] = summaries.map((s) => {
    const ceiling = CEILING[s.scenario];
    const base = ceiling ? rps.get(ceiling) : undefined;
    const coldNote =
      s.scenario === 'cold-read'
        ? (offsets.get('cold-read') ?? 0) > data.coldIds.length
          ? 'the cold set ran out: some ids were read twice'
          : `${fmt(offsets.get('cold-read') ?? 0)} of ${fmt(data.coldIds.length)} cold ids used, none twice`
        : undefined;
    return {
      ...s,
      ratio: base ? s.rps / base : null,
      ceiling: ceiling ? NAMES[ceiling] : null,
      ...(coldNote ? { note: coldNote } : {}),
    };
  });

  log(`\n${mode}: ${generator}, ${CONNECTIONS} connections, ${ROUNDS} x ${SECONDS} s (p99: the worst round)\n`);
  log(
    '| scenario | req/s | p50 ms | p99 ms | errors | ratio | of | peak RSS MiB | server CPU | generator CPU | ' +
      'server CPU µs/req | PostgreSQL CPU µs/req | Redis CPU µs/req |',
  );
  log('|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    log(
      `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.errors} | ` +
        `${r.ratio === null ? '' : r.ratio.toFixed(2)} | ${r.ceiling ?? ''} | ${fmt(r.peakRssMiB)} | ` +
        `${fmt(r.serverCpuPercent)} % | ${fmt(r.generatorCpuPercent)} % | ${fmt(r.serverCpuUs)} | ` +
        `${r.databaseCpuUs === null ? '' : fmt(r.databaseCpuUs)} | ${r.redisCpuUs === null ? '' : fmt(r.redisCpuUs)} |`,
    );
  }
  for (const r of rows) if (r.note) log(`${r.name}: ${r.note}`);
  const busy = rows.filter((r) => r.generatorCpuPercent > 85);
  if (busy.length > 0)
    log(`The load generator used a whole core in ${busy.map((r) => r.name).join(', ')}: those figures are its limit.`);
  const seconds = (performance.now() - startedAt) / 1000 - (seed.seeded ? seed.seconds : 0);
  log(`\nload average ${loadavg()[0]!.toFixed(1)}; run took ${fmt(seconds)} s (without the one-time seed).`);

  const result = {
    mode,
    generator: generator === 'wrk' ? 'wrk -t1' : 'autocannon',
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
    warmupSeconds: WARMUP,
    rounds: ROUNDS,
    quick,
    patients: PATIENTS,
    date: new Date().toISOString(),
    loadAverage: loadavg()[0],
    seed,
    runSeconds: Math.round(seconds),
    results: rows.map((r) => ({
      name: r.name,
      rps: Math.round(r.rps),
      p50: Number(r.p50.toFixed(2)),
      p99: Number(r.p99.toFixed(2)),
      errors: r.errors,
      ratio: r.ratio === null ? null : Number(r.ratio.toFixed(3)),
      ceiling: r.ceiling,
      requests: r.requests,
      peakRssMiB: Math.round(r.peakRssMiB),
      serverCpuPercent: Math.round(r.serverCpuPercent),
      generatorCpuPercent: Math.round(r.generatorCpuPercent),
      serverCpuUsPerRequest: Math.round(r.serverCpuUs),
      databaseCpuUsPerRequest: r.databaseCpuUs === null ? null : Math.round(r.databaseCpuUs),
      redisCpuUsPerRequest: r.redisCpuUs === null ? null : Math.round(r.redisCpuUs),
      ...(r.note ? { note: r.note } : {}),
    })),
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  // A partial run (--only) is kept apart: latest.json stays the last full run.
  const file = only ? `latest-${mode}-${only.join('+')}-c${CONNECTIONS}.json` : `latest-${mode}.json`;
  if (!only) writeFileSync(new URL('latest.json', dir), json);
  writeFileSync(new URL(file, dir), json);
  log(`Written to bench/results/${only ? file : 'latest.json'}.`);
  if (redisInfo) {
    let cursor = '0';
    do {
      const [next, keys] = await redisInfo.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
      if (keys.length) await redisInfo.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

async function stopAll() {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null) return resolve();
          const force = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
          s.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          s.child.kill('SIGTERM');
        }),
    ),
  );
  await dropDatabase().catch((error: unknown) => console.error('could not drop the run database:', error));
  rmSync(runDir, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  void stopAll().finally(() => process.exit(130));
});
try {
  await main();
} catch (error) {
  console.error(error);
  for (const s of servers) console.error(`(${s.name} log: ${s.logFile})`);
  process.exitCode = 1;
} finally {
  redisInfo?.disconnect();
  if (process.exitCode !== 1 && !process.env.BENCH_KEEP) await stopAll();
  else {
    // Keep the logs (a failed run, or BENCH_KEEP=1); stop the servers and drop the database all the same.
    console.error(`Server logs kept in ${runDir}`);
    for (const s of servers) s.child.kill('SIGTERM');
    await dropDatabase().catch(() => {});
  }
}
