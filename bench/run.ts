/**
 * `npm run bench`: the bare baseline (plain Fastify + the same database and SQL) and Wardline, each
 * in its own process, measured in one run with autocannon on loopback, and the ratios printed. Then
 * the cost of auditing reads: the same audited read on Wardline and on Wardline with read auditing
 * off, at BENCH_AUDIT_CONNECTIONS connections, with the group commit's mean batch size.
 * Absolute numbers drift on a shared machine; the ratios are what to compare between runs.
 * Bounded: every measurement runs a fixed number of seconds, and the servers are stopped at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const AUDIT_CONNECTIONS = Number(process.env.BENCH_AUDIT_CONNECTIONS ?? 50);
const AUDIT_ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 5);
const ENDPOINTS = ['/health', '/api/v1/profile', '/api/v1/users'];
/** An audited read: each answer waits for its `users.list` event to be durable (group commit). */
const AUDITED_READ = '/api/v1/users';

interface Server {
  name: 'baseline' | 'wardline' | 'wardline-unaudited';
  child: ChildProcess;
  url: string;
  token: string;
}

function start(name: Server['name'], port: number): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/server.ts', name, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /READY (.*)\n/.exec(out);
      if (ready)
        resolve({
          name,
          child,
          url: `http://127.0.0.1:${port}`,
          token: (JSON.parse(ready[1]!) as { token: string }).token,
        });
    });
    child.on('exit', (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
}

/** Resident memory of a process, now and at its peak, in MiB (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

async function measure(server: Server, path: string, connections = CONNECTIONS) {
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections,
    duration: SECONDS,
    headers: { authorization: `Bearer ${server.token}` },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${server.name} ${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

interface GroupCommitStats {
  batches: number;
  events: number;
  largestBatch: number;
  /** Time spent in the group commit's writes (bench/server.ts measures it). */
  writeMs: number;
}

async function auditStats(server: Server): Promise<GroupCommitStats> {
  const res = await fetch(`${server.url}/bench/audit-stats`);
  return (await res.json()) as GroupCommitStats;
}

type Samples = { p50: number[]; p99: number[]; rps: number[] };
const emptySamples = (): Samples => ({ p50: [], p99: [], rps: [] });
const medians = (s: Samples) => ({ p50: median(s.p50), p99: median(s.p99), rps: median(s.rps) });

/**
 * The audited read on Wardline and on Wardline without read auditing, interleaved (the order swaps
 * each round), and the group commit's batches over the audited rounds. The ratio is taken per round,
 * between two back-to-back measurements, so that the machine's drift cancels out as far as it can;
 * its median and range are reported.
 */
async function auditCost(audited: Server, unaudited: Server) {
  const samples = { audited: emptySamples(), unaudited: emptySamples() };
  await measure(audited, AUDITED_READ, AUDIT_CONNECTIONS); // warm-up, both sides
  await measure(unaudited, AUDITED_READ, AUDIT_CONNECTIONS);
  const commit = { batches: 0, events: 0, largestBatch: 0, writeMs: 0 };
  const ratios: number[] = [];
  for (let round = 0; round < AUDIT_ROUNDS; round++) {
    const order = round % 2 === 0 ? [audited, unaudited] : [unaudited, audited];
    for (const server of order) {
      const before = server === audited ? await auditStats(audited) : undefined;
      const sample = await measure(server, AUDITED_READ, AUDIT_CONNECTIONS);
      if (before) {
        const after = await auditStats(audited);
        commit.batches += after.batches - before.batches;
        commit.events += after.events - before.events;
        commit.largestBatch = Math.max(commit.largestBatch, after.largestBatch);
        commit.writeMs += after.writeMs - before.writeMs;
      }
      const into = server === audited ? samples.audited : samples.unaudited;
      into.p50.push(sample.p50);
      into.p99.push(sample.p99);
      into.rps.push(sample.rps);
    }
    ratios.push(samples.audited.rps.at(-1)! / samples.unaudited.rps.at(-1)!);
  }
  return { audited: medians(samples.audited), unaudited: medians(samples.unaudited), commit, ratios };
}

/** The machine's 1-minute load average: on a shared machine, say how busy it was. */
const load = () => loadavg()[0]!.toFixed(1);
const loadAtStart = load();

const servers = await Promise.all([
  start('baseline', 5601),
  start('wardline', 5602),
  start('wardline-unaudited', 5603),
]);
try {
  const rows: string[] = [];
  const compared = [servers[0], servers[1]];
  for (const path of ENDPOINTS) {
    const samples = { baseline: emptySamples(), wardline: emptySamples() };
    await measure(servers[0], path); // warm-up, both sides
    await measure(servers[1], path);
    // Interleaved rounds, so drift on the machine hits both sides alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of compared) {
        const sample = await measure(server, path);
        const into = server === servers[0] ? samples.baseline : samples.wardline;
        into.p50.push(sample.p50);
        into.p99.push(sample.p99);
        into.rps.push(sample.rps);
      }
    }
    const b = medians(samples.baseline);
    const w = medians(samples.wardline);
    rows.push(
      `| ${path} | ${b.rps.toFixed(0)} | ${w.rps.toFixed(0)} | ${(w.rps / b.rps).toFixed(2)} | ${b.p50} / ${b.p99} | ${w.p50} / ${w.p99} |`,
    );
  }
  // Memory first: the 50-connection rounds below would raise Wardline's peak, not the baseline's.
  const mem = compared.map((s) => ({ name: s.name, ...memory(s.child.pid!) }));
  const cost = await auditCost(servers[1], servers[2]);
  console.log(
    `\nWardline vs bare baseline (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; ${CONNECTIONS} connections, median of ${ROUNDS} x ${SECONDS}s)\n`,
  );
  console.log('| endpoint | baseline req/s | wardline req/s | ratio | baseline p50/p99 ms | wardline p50/p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  const { audited: a, unaudited: u, commit, ratios } = cost;
  console.log(
    `\nThe audit of reads: ${AUDITED_READ} audited and unaudited (${AUDIT_CONNECTIONS} connections, median of ${AUDIT_ROUNDS} x ${SECONDS}s)\n`,
  );
  console.log('| server | req/s | p50/p99 ms |\n|---|---|---|');
  console.log(`| wardline (audited) | ${a.rps.toFixed(0)} | ${a.p50} / ${a.p99} |`);
  console.log(`| wardline-unaudited | ${u.rps.toFixed(0)} | ${u.p50} / ${u.p99} |`);
  console.log(
    `\nratio audited/unaudited: ${median(ratios).toFixed(2)} (median of the rounds' ratios; ` +
      `range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
  const batches = Math.max(commit.batches, 1);
  console.log(
    `group commit over the audited rounds: ${commit.events} events in ${commit.batches} batches, ` +
      `mean batch ${(commit.events / batches).toFixed(1)} events (largest ${commit.largestBatch}), ` +
      `${(commit.writeMs / batches).toFixed(1)} ms per batch write, busy ${((commit.writeMs / (AUDIT_ROUNDS * SECONDS * 1000)) * 100).toFixed(0)}% of the time`,
  );
  console.log('\n| process | RSS MiB | peak RSS MiB |\n|---|---|---|');
  for (const m of mem) console.log(`| ${m.name} | ${m.rss.toFixed(0)} | ${m.peak.toFixed(0)} |`);
  const ratio = mem[1]!.peak / mem[0]!.peak;
  console.log(`\npeak memory ratio wardline/baseline: ${ratio.toFixed(2)}`);
  console.log(`load average (1 min): ${loadAtStart} at the start, ${load()} at the end`);
} finally {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.child.once('exit', () => resolve());
          s.child.kill('SIGTERM');
        }),
    ),
  );
}
