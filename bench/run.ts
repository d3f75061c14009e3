/**
 * `npm run bench`: the bare baseline (plain Fastify + the same database and SQL) and Wardline, each
 * in its own process, measured in one run with autocannon on loopback, and the ratios printed.
 * Absolute numbers drift on a shared machine; the ratios are what to compare between runs.
 * Bounded: every measurement runs a fixed number of seconds, and the servers are stopped at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ENDPOINTS = ['/health', '/api/v1/profile', '/api/v1/users'];

interface Server {
  name: 'baseline' | 'wardline';
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

async function measure(server: Server, path: string) {
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections: CONNECTIONS,
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

const servers = await Promise.all([start('baseline', 5601), start('wardline', 5602)]);
try {
  const rows: string[] = [];
  for (const path of ENDPOINTS) {
    const samples: Record<Server['name'], { p50: number[]; p99: number[]; rps: number[] }> = {
      baseline: { p50: [], p99: [], rps: [] },
      wardline: { p50: [], p99: [], rps: [] },
    };
    await measure(servers[0], path); // warm-up, both sides
    await measure(servers[1], path);
    // Interleaved rounds, so drift on the machine hits both sides alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of servers) {
        const sample = await measure(server, path);
        samples[server.name].p50.push(sample.p50);
        samples[server.name].p99.push(sample.p99);
        samples[server.name].rps.push(sample.rps);
      }
    }
    const b = {
      p50: median(samples.baseline.p50),
      p99: median(samples.baseline.p99),
      rps: median(samples.baseline.rps),
    };
    const w = {
      p50: median(samples.wardline.p50),
      p99: median(samples.wardline.p99),
      rps: median(samples.wardline.rps),
    };
    rows.push(
      `| ${path} | ${b.rps.toFixed(0)} | ${w.rps.toFixed(0)} | ${(w.rps / b.rps).toFixed(2)} | ${b.p50} / ${b.p99} | ${w.p50} / ${w.p99} |`,
    );
  }
  const mem = servers.map((s) => ({ name: s.name, ...memory(s.child.pid!) }));
  console.log(
    `\nWardline vs bare baseline (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; ${CONNECTIONS} connections, median of ${ROUNDS} x ${SECONDS}s)\n`,
  );
  console.log('| endpoint | baseline req/s | wardline req/s | ratio | baseline p50/p99 ms | wardline p50/p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('\n| process | RSS MiB | peak RSS MiB |\n|---|---|---|');
  for (const m of mem) console.log(`| ${m.name} | ${m.rss.toFixed(0)} | ${m.peak.toFixed(0)} |`);
  const ratio = mem[1]!.peak / mem[0]!.peak;
  console.log(`\npeak memory ratio wardline/baseline: ${ratio.toFixed(2)}`);
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
