/**
 * `npm run bench:alerts`: the clinical alerts under load, against a real server on 127.0.0.1 (the
 * synthetic demo tenant, on a fresh PGlite folder, or a scratch PostgreSQL database when DATABASE_URL
 * is set; REDIS_URL is passed through).
 *
 * 1. Fan-out: SOCKETS sockets (default 1,000) connected in one hospital; after three warm-up alerts,
 *    ALERTS alerts raised one after another, each once every socket has heard the previous one
 *    resolved; for each, the time from sending `POST /api/v1/alerts` to the `alert:new` event on
 *    every socket. Prints p50, p99 and max over all deliveries, and any socket that missed one.
 * 2. Escalation lateness: ACTIVE alerts (default 1,000) raised with steps at 5 and 10 s; once they
 *    have all fired, the engine's own lateness figures from `/health/ready` (p50, p99, max of the
 *    last 1,000 steps fired).
 * Bounded in time and requests; stops its server and drops its database at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';

const { values: args } = parseArgs({
  options: { sockets: { type: 'string' }, alerts: { type: 'string' }, active: { type: 'string' } },
});
const SOCKETS = Number(args.sockets ?? 1000);
const ALERTS = Number(args.alerts ?? 20);
const ACTIVE = Number(args.active ?? 1000);
/** Alerts raised and resolved before the fan-out is measured. */
const FAN_OUT_WARMUP = 3;
const PORT = 5614;
const BASE = `http://127.0.0.1:${PORT}`;
const PASSWORD = 'demo-password-123';
const TYPES = ['fall', 'code-blue', 'pain', 'assistance', 'equipment', 'other'] as const;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const cleanups: (() => Promise<void> | void)[] = [];
const log = (line: string) => console.log(line);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function storage(): Promise<Record<string, string>> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), 'wardline-bench-alerts-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { DATA_DIR: dir };
  }
  const name = `wardline_bench_alerts_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  });
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { DATABASE_URL: scratch.toString(), ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) };
}

async function startServer(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env.PATH,
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      DEMO: '1',
      AUTH_SECRET: randomBytes(32).toString('hex'),
      REDIS_KEY_PREFIX: `wardline-bench-alerts:${randomBytes(4).toString('hex')}:`,
      ALERTS_ENGINE_INTERVAL_MS: '200',
      // Raising ACTIVE alerts in seconds is over the per-caller alerts limit (600 a minute): off here.
      RATE_LIMITS: 'alerts=off',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${BASE}/health/ready`).catch(() => undefined);
    if (ready?.status === 200) return child;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the server was not ready within 120 s');
}

async function call(token: string, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Json) : {};
}

async function signIn(role: string): Promise<string> {
  const res = await fetch(`${BASE}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${role}@demo.test`, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in as ${role}: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

async function main() {
  const started = performance.now();
  await startServer(await storage());
  const [admin, manager, nurse, operator] = await Promise.all(
    ['admin', 'manager', 'nurse', 'operator'].map((role) => signIn(role)),
  );
  const hospital = ((await call(nurse!, 'GET', '/api/v1/hospitals')).data as { id: string }[])[0]!;
  const unit = (await call(admin!, 'POST', `/api/v1/hospitals/${hospital.id}/units`, { name: 'Bench ward' })) as {
    id: string;
  };
  // Enough rooms for ACTIVE open alerts of distinct (room, type).
  const rooms: string[] = [];
  for (let i = 0; i < Math.ceil(ACTIVE / TYPES.length) + 1; i++) {
    rooms.push((await call(admin!, 'POST', `/api/v1/units/${unit.id}/rooms`, { name: `B${i}` })).id as string);
  }
  await call(manager!, 'PUT', `/api/v1/hospitals/${hospital.id}/escalation-policy`, {
    rules: [
      { urgency: 2, delaysSeconds: [5, 10] },
      { urgency: 3, delaysSeconds: [3600] },
    ],
    ackTimeoutSeconds: 3600,
  });

  // 1. Fan-out.
  const sockets: Socket[] = [];
  const received = new Map<string, number[]>();
  // Resolutions heard, per alert: the next alert is raised once every socket has heard the last one's,
  // so that its figures are its own fan-out, not the queue of the previous broadcast.
  const resolvedHeard = new Map<string, number>();
  for (let i = 0; i < SOCKETS; i++) {
    const socket = io(BASE, { transports: ['websocket'], auth: { token: nurse }, reconnection: false, forceNew: true });
    socket.on('alert:new', (event: { alert: { id: string } }) => {
      const at = performance.now();
      const list = received.get(event.alert.id) ?? [];
      list.push(at);
      received.set(event.alert.id, list);
    });
    socket.on('alert:resolved', (event: { alert: { id: string } }) => {
      resolvedHeard.set(event.alert.id, (resolvedHeard.get(event.alert.id) ?? 0) + 1);
    });
    sockets.push(socket);
  }
  cleanups.push(() => sockets.forEach((socket) => socket.close()));
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          socket.once('realtime:ready', () => resolve());
          socket.once('connect_error', reject);
        }),
    ),
  );
  log(`${SOCKETS} sockets connected in ${((performance.now() - started) / 1000).toFixed(1)} s since start.`);
  const latencies: number[] = [];
  let missed = 0;
  // The first alerts warm the server and the clients up (compiled code paths, buffers): not counted.
  for (let i = -FAN_OUT_WARMUP; i < ALERTS; i++) {
    const sent = performance.now();
    const alert = await call(operator!, 'POST', '/api/v1/alerts', {
      hospitalId: hospital.id,
      unitId: unit.id,
      roomId: rooms[0],
      type: 'assistance',
      urgency: 3,
    });
    const deadline = Date.now() + 5000;
    while ((received.get(alert.id as string)?.length ?? 0) < SOCKETS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const times = received.get(alert.id as string) ?? [];
    if (i >= 0) {
      missed += SOCKETS - times.length;
      latencies.push(...times.map((at) => at - sent));
    }
    log(
      `alert ${i}: first ${(Math.min(...times) - sent).toFixed(0)} ms, last ${(Math.max(...times) - sent).toFixed(0)} ms`,
    );
    await call(nurse!, 'POST', `/api/v1/alerts/${alert.id}/resolve`, { resolution: 'bench' });
    const quiet = Date.now() + 5000;
    while ((resolvedHeard.get(alert.id as string) ?? 0) < SOCKETS && Date.now() < quiet) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  sockets.forEach((socket) => socket.close());
  latencies.sort((x, y) => x - y);
  const fanOut = {
    sockets: SOCKETS,
    alerts: ALERTS,
    deliveries: latencies.length,
    missed,
    p50: Number(percentile(latencies, 50).toFixed(1)),
    p99: Number(percentile(latencies, 99).toFixed(1)),
    max: Number((latencies.at(-1) ?? 0).toFixed(1)),
  };
  log(
    `fan-out: ${fanOut.deliveries} deliveries (${ALERTS} alerts x ${SOCKETS} sockets), missed ${missed}; ` +
      `POST to receipt p50 ${fanOut.p50} ms, p99 ${fanOut.p99} ms, max ${fanOut.max} ms`,
  );

  // 2. Escalation lateness with ACTIVE open alerts.
  const raisedStart = performance.now();
  for (let i = 0; i < ACTIVE; i++) {
    await call(operator!, 'POST', '/api/v1/alerts', {
      hospitalId: hospital.id,
      unitId: unit.id,
      roomId: rooms[1 + Math.floor(i / TYPES.length)],
      type: TYPES[i % TYPES.length],
      urgency: 2,
    });
  }
  log(`${ACTIVE} active alerts raised in ${((performance.now() - raisedStart) / 1000).toFixed(1)} s.`);
  // Every alert fires two steps (5 and 10 s after its raise); wait until the last ones are due and fired.
  const deadline = Date.now() + 60_000;
  let health: { escalations?: { lateMs: { p50: number; p99: number; max: number; samples: number } } } = {};
  while (Date.now() < deadline) {
    health = (await (await fetch(`${BASE}/health/ready`)).json()) as typeof health;
    let pending = 0;
    let cursor: string | null = null;
    do {
      const page = await call(
        manager!,
        'GET',
        `/api/v1/alerts?unit=${unit.id}&status=active&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pending += (page.data as Json[]).filter((a) => a.step < 2).length;
      cursor = page.nextCursor as string | null;
    } while (cursor);
    if (pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const lateness = health.escalations?.lateMs;
  log(
    `escalation lateness over the last ${lateness?.samples ?? 0} steps fired: p50 ${lateness?.p50} ms, ` +
      `p99 ${lateness?.p99} ms, max ${lateness?.max} ms`,
  );

  const result = {
    mode: process.env.DATABASE_URL ? (process.env.REDIS_URL ? 'postgres+redis' : 'postgres') : 'pglite',
    date: new Date().toISOString(),
    fanOut,
    escalation: { activeAlerts: ACTIVE, stepsPerAlert: 2, lateMs: lateness },
    runSeconds: Math.round((performance.now() - started) / 1000),
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`alerts-${result.mode}.json`, dir), `${JSON.stringify(result, null, 2)}\n`);
  log(`Written to bench/results/alerts-${result.mode}.json.`);
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
}
