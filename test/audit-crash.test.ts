import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, type Server, signIn, startServer, storage, within } from './helpers/server-process.js';

// The promise of the group commit, tested the hard way: a read is answered only once its audit event
// is durable, so killing the server (SIGKILL, nothing flushed on the way out) while it answers reads
// under load must not lose the event of any read that was answered.

const LOOPS = 20;
/** Answered reads after which the server is killed, while the other loops' reads are in flight. */
const KILL_AFTER = 300;

afterAll(cleanUp);

/**
 * GET /api/v1/users from LOOPS loops at once, each request with its own id, until KILL_AFTER have been
 * answered; then SIGKILL, with the other loops' requests in flight. Returns the ids answered 2xx
 * (including any answer that still arrives after the kill).
 */
async function readUntilKilled(server: Server, token: string) {
  const answered: string[] = [];
  const failures: string[] = [];
  let killed = false;
  let inFlightAtKill = 0;
  let inFlight = 0;
  const run = randomBytes(4).toString('hex');
  const loop = async (loopNo: number) => {
    for (let n = 0; !killed; n++) {
      const requestId = `crash-${run}-${loopNo}-${n}`;
      inFlight++;
      try {
        const res = await fetch(`${server.base}/api/v1/users`, {
          headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status >= 200 && res.status < 300) answered.push(requestId);
        else if (!killed) failures.push(`${requestId}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer().catch(() => {});
      } catch (error) {
        // After the kill, connections fail: that is the point. Before it, any failure is a bug.
        if (!killed) failures.push(`${requestId}: ${String(error)}`);
        return;
      } finally {
        inFlight--;
      }
      if (!killed && answered.length >= KILL_AFTER) {
        killed = true;
        inFlightAtKill = inFlight;
        server.child.kill('SIGKILL');
      }
      if (failures.length > 0) return;
    }
  };
  await within(45_000, 'the load', Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i))));
  return { answered, failures, killed, inFlightAtKill };
}

/** The request ids of the organization's `users.list` events, from the audit trail's CSV export. */
async function auditedRequestIds(server: Server, token: string): Promise<Set<string>> {
  const res = await fetch(`${server.base}/api/v1/audit-events/export.csv?action=users.list`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(200);
  const [header, ...lines] = (await res.text()).trim().split('\n');
  const columns = header!.split(',');
  // Counted from the end: the columns after the request id (patientIds, space-separated ids) and the
  // request id itself hold no comma or quote; the user agent before them may.
  const fromEnd = columns.length - columns.indexOf('requestId');
  expect(columns.slice(-fromEnd)).toEqual(['requestId', 'patientIds']);
  return new Set(lines.map((line) => line.split(',').at(-fromEnd)!.trim()));
}

describe('the audit trail across a crash', () => {
  it('keeps an event for every read answered before kill -9, and the chain still verifies', async () => {
    const env = await storage('crash');
    const first = await startServer(env);
    const token = await signIn(first, 'admin@demo.test');

    const load = await readUntilKilled(first, token);
    expect(load.failures, first.output()).toEqual([]);
    expect(load.killed).toBe(true);
    expect(load.answered.length).toBeGreaterThanOrEqual(KILL_AFTER);
    // The kill came while reads were still being served, not after the load had drained.
    expect(load.inFlightAtKill).toBeGreaterThan(0);
    await within(10_000, 'the killed server to exit', first.exited);
    expect(first.child.signalCode).toBe('SIGKILL');

    const second = await startServer(env);
    const admin = await signIn(second, 'admin@demo.test');
    const audited = await auditedRequestIds(second, admin);
    const lost = load.answered.filter((id) => !audited.has(id));
    expect(lost, `${lost.length} of ${load.answered.length} answered reads have no audit event`).toEqual([]);

    const verify = await fetch(`${second.base}/api/v1/audit-events/verify`, {
      headers: { authorization: `Bearer ${admin}` },
      signal: AbortSignal.timeout(20_000),
    });
    expect(verify.status).toBe(200);
    const report = (await verify.json()) as { broken: unknown; events: number };
    expect(report.broken).toBeNull();
    expect(report.events).toBeGreaterThanOrEqual(load.answered.length);

    second.child.kill('SIGTERM');
    expect(await within(15_000, 'the restarted server to stop', second.exited)).toBe(0);
  }, 240_000);
});
