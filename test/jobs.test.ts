import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/platform/audit/audit.schema.js';
import { systemActing } from '../src/platform/db/unit-of-work.js';
import type { JobRun } from '../src/platform/jobs/job-map.js';
import { outboxMessages } from '../src/platform/outbox/outbox.schema.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

// Jobs of this file only (declaration merging, as a module declares its own).
declare module '../src/platform/jobs/job-map.js' {
  interface JobMap {
    'test.record': { organizationId: string; requestId: string | null; marker: string };
    'test.flaky': { organizationId: string; requestId: string | null; marker: string };
    'test.unique': { organizationId: string; requestId: string | null; marker: string };
    'test.idle': { organizationId: string; requestId: string | null; marker: string };
    'test.later': { organizationId: string; requestId: string | null; marker: string };
  }
}

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface JobBody {
  id: string;
  name: string;
  state: string;
  attempts: number;
  requestId: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  startAfter: string;
  createdOn: string;
  singletonKey: string | null;
}

describe('jobs', () => {
  let t: TestApp;
  let a: Tenant;
  let b: Tenant;
  const runs: JobRun<{ organizationId: string; requestId: string | null; marker: string }>[] = [];
  const flakyAt: number[] = [];

  beforeAll(async () => {
    t = await buildTestApp({ JOBS_POLL_INTERVAL_SECONDS: '0.5' });
    a = await createTenant(t.app);
    b = await createTenant(t.app);
    // Registered after start: the queues are made and the workers start at once.
    await t.app.jobs.register('test.record', async (job) => {
      runs.push(job);
      // A handler acts for the job's tenant through the unit of work, like any service.
      await t.app.uow.write(job.acting, async (work) => {
        work.audit({ action: 'test.job-ran', resourceType: 'job', resourceId: job.id });
      });
      return { marker: job.data.marker, handled: true };
    });
    await t.app.jobs.register(
      'test.flaky',
      async () => {
        flakyAt.push(Date.now());
        throw new Error('the fake service is down');
      },
      { retryLimit: 2, retryDelay: 1, retryBackoff: true, deadLetter: true, pollingIntervalSeconds: 0.5 },
    );
    await t.app.jobs.register('test.unique', async () => {}, { policy: 'short' });
    await t.app.jobs.register('test.later', async () => {});
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const api = (tenant: Tenant, role: keyof Tenant['users'] = 'admin') => as(t.app, tenant.users[role].token);

  async function jobOf(tenant: Tenant, id: string): Promise<JobBody> {
    const response = await api(tenant)({ method: 'GET', url: `/api/v1/jobs/${id}` });
    expect(response.statusCode).toBe(200);
    return response.json<JobBody>();
  }

  async function rows<T>(text: string): Promise<T[]> {
    const result: unknown = await t.app.database.db.execute(sql.raw(text));
    return (result as { rows: T[] }).rows;
  }

  async function countJobs(marker: string): Promise<number> {
    const [row] = await rows<{ count: number }>(
      `select count(*)::int as count from pgboss.job where data->>'marker' = '${marker}'`,
    );
    return Number(row!.count);
  }

  it('enqueues in the unit of work: a committed write leaves the job, a rolled-back one none', async () => {
    const committed = randomUUID();
    const id = await t.app.uow.write(systemActing(a.organizationId, 'req-commit'), async (work) => {
      const jobId = await work.enqueue('test.later', { marker: committed }, { startAfter: 3600 });
      work.audit({ action: 'test.enqueue', resourceType: 'job', resourceId: jobId });
      return jobId;
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await countJobs(committed)).toBe(1);

    const rolledBack = randomUUID();
    await expect(
      t.app.uow.write(systemActing(a.organizationId, 'req-rollback'), async (work) => {
        await work.enqueue('test.later', { marker: rolledBack }, { startAfter: 3600 });
        work.audit({ action: 'test.enqueue', resourceType: 'job' });
        throw new Error('the change fails after the enqueue');
      }),
    ).rejects.toThrow('the change fails');
    expect(await countJobs(rolledBack)).toBe(0);

    // A nested write joins the outer transaction: its job goes when the outer write rolls back.
    const nested = randomUUID();
    await expect(
      t.app.uow.write(systemActing(a.organizationId, null), async (work) => {
        await t.app.uow.write(systemActing(a.organizationId, null), async (inner) => {
          await inner.enqueue('test.later', { marker: nested }, { startAfter: 3600 });
          inner.audit({ action: 'test.enqueue', resourceType: 'job' });
        });
        work.audit({ action: 'test.outer', resourceType: 'job' });
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await countJobs(nested)).toBe(0);
  });

  it('runs a handler with the tenant and the request id of the write that enqueued it', async () => {
    const marker = randomUUID();
    const id = await t.app.uow.write(systemActing(a.organizationId, 'req-handler'), async (work) => {
      const jobId = await work.enqueue('test.record', { marker });
      work.audit({ action: 'test.enqueue', resourceType: 'job', resourceId: jobId });
      return jobId;
    });
    const job = await until(
      async () => {
        const body = await jobOf(a, id!);
        return body.state === 'completed' ? body : undefined;
      },
      10_000,
      'the job to complete',
    );
    expect(job).toMatchObject({ name: 'test.record', attempts: 1, requestId: 'req-handler', error: null });
    expect(job.result).toEqual({ marker, handled: true });
    const run = runs.find((r) => r.id === id)!;
    expect(run.data).toEqual({ organizationId: a.organizationId, requestId: 'req-handler', marker });
    expect(run.acting).toMatchObject({
      organizationId: a.organizationId,
      requestId: 'req-handler',
      actor: { type: 'system' },
    });
    // What the handler wrote is the tenant's, by Wardline, for that request.
    const [event] = await t.app.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'test.job-ran'), eq(auditEvents.resourceId, id!)));
    expect(event).toMatchObject({ organizationId: a.organizationId, actorType: 'system', requestId: 'req-handler' });
  });

  it('retries with exponential backoff, then fails the job and copies it to its dead-letter queue', async () => {
    const marker = randomUUID();
    const id = await t.app.jobs.send('test.flaky', {
      organizationId: a.organizationId,
      requestId: 'req-flaky',
      marker,
    });
    const failed = await until(
      async () => {
        const body = await jobOf(a, id!);
        return body.state === 'failed' ? body : undefined;
      },
      14_000,
      'the job to fail for good',
    );
    // The first run and two retries; each retry waits retryDelay * 2^n seconds, give or take half.
    expect(failed.attempts).toBe(3);
    expect(failed.error).toBe('the fake service is down');
    expect(flakyAt).toHaveLength(3);
    const [first, second, third] = flakyAt as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(900);
    expect(third - second).toBeGreaterThanOrEqual(1_900);
    const list = await api(a)({ method: 'GET', url: '/api/v1/jobs?name=test.flaky.dead-letter' });
    const dead = list.json<{ data: JobBody[] }>().data;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ name: 'test.flaky.dead-letter', state: 'created', requestId: 'req-flaky' });
  }, 20_000);

  it('refuses a duplicate singleton key under the queue policy, and delays a job with startAfter', async () => {
    const key = `patient-${randomUUID()}`;
    const data = { organizationId: a.organizationId, requestId: null, marker: randomUUID() };
    const first = await t.app.jobs.send('test.unique', data, { singletonKey: key, startAfter: 600 });
    const again = await t.app.jobs.send('test.unique', data, { singletonKey: key, startAfter: 600 });
    const other = await t.app.jobs.send('test.unique', data, { singletonKey: `${key}-2`, startAfter: 600 });
    expect(first).not.toBeNull();
    expect(again).toBeNull();
    expect(other).not.toBeNull();
    const job = await jobOf(a, first!);
    expect(job).toMatchObject({ state: 'created', singletonKey: key, attempts: 0 });
    expect(new Date(job.startAfter).getTime()).toBeGreaterThan(Date.now() + 590_000);
  });

  it("shows a tenant its own jobs only: another's is 404 and absent from the list; a nurse may not read jobs", async () => {
    const marker = randomUUID();
    const id = await t.app.jobs.send(
      'test.later',
      { organizationId: a.organizationId, requestId: null, marker },
      { startAfter: 600 },
    );
    expect((await api(a, 'manager')({ method: 'GET', url: `/api/v1/jobs/${id}` })).statusCode).toBe(200);
    const other = await api(b)({ method: 'GET', url: `/api/v1/jobs/${id}` });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: 'job not found' } });
    const bList = await api(b)({ method: 'GET', url: '/api/v1/jobs?name=test.later' });
    expect(bList.json<{ data: JobBody[] }>().data.map((j) => j.id)).not.toContain(id);
    const aList = await api(a)({ method: 'GET', url: '/api/v1/jobs?name=test.later&state=created' });
    expect(aList.json<{ data: JobBody[] }>().data.map((j) => j.id)).toContain(id);
    expect((await api(a, 'nurse')({ method: 'GET', url: `/api/v1/jobs/${id}` })).statusCode).toBe(403);
    expect((await api(a)({ method: 'GET', url: '/api/v1/jobs/not-a-job' })).statusCode).toBe(404);
    // The payload never leaves: only ids, state and timestamps.
    expect(Object.keys(await jobOf(a, id!))).not.toContain('data');
  });

  it('pages the list newest first with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await t.app.jobs.send(
          'test.later',
          { organizationId: b.organizationId, requestId: null, marker: `page-${i}` },
          { startAfter: 600 },
        ))!,
      );
    }
    const seen: JobBody[] = [];
    let cursor: string | null = null;
    do {
      const response = await api(b)({
        method: 'GET',
        url: `/api/v1/jobs?name=test.later&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(response.statusCode).toBe(200);
      const page = response.json<{ data: JobBody[]; nextCursor: string | null }>();
      seen.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    // Every job once, in the order of one page holding them all: newest first, jobs of the same
    // microsecond (PGlite's clock can give two the same) by id.
    const whole = await api(b)({ method: 'GET', url: '/api/v1/jobs?name=test.later&limit=10' });
    expect(seen.map((j) => j.id)).toEqual(whole.json<{ data: JobBody[] }>().data.map((j) => j.id));
    expect(seen.map((j) => j.id).sort()).toEqual([...ids].sort());
    const times = seen.map((j) => Date.parse(j.createdOn));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect((await api(b)({ method: 'GET', url: '/api/v1/jobs?cursor=bad' })).statusCode).toBe(400);
  });

  it('refuses a payload without its tenant, or one that carries more than ids', async () => {
    await expect(t.app.jobs.send('test.later', { requestId: null, marker: 'x' } as never)).rejects.toThrow(
      'organizationId',
    );
    await expect(
      t.app.jobs.send('test.later', {
        organizationId: a.organizationId,
        requestId: null,
        marker: 'x',
        patient: { name: 'Jane' },
      } as never),
    ).rejects.toThrow('never hold records');
    await expect(t.app.jobs.send('test.nope' as never, {} as never)).rejects.toThrow('not registered');
  });

  it('prunes delivered outbox messages older than the retention (a platform job, in no tenant)', async () => {
    const old = new Date(Date.now() - 8 * 86_400_000);
    await t.app.database.db.insert(outboxMessages).values([
      { topic: 'test.old', payload: {}, deliveredAt: old, createdAt: old },
      { topic: 'test.recent', payload: {}, deliveredAt: new Date() },
      { topic: 'test.pending', payload: {}, createdAt: old },
    ]);
    const id = await t.app.jobs.send('outbox.prune', { organizationId: null, requestId: null });
    await until(
      async () => {
        const [row] = await rows<{ state: string }>(`select state::text as state from pgboss.job where id = '${id}'`);
        return row?.state === 'completed' ? true : undefined;
      },
      10_000,
      'the prune job',
    );
    const topics = (await t.app.database.db.select({ topic: outboxMessages.topic }).from(outboxMessages)).map(
      (row) => row.topic,
    );
    expect(topics).not.toContain('test.old');
    expect(topics).toEqual(expect.arrayContaining(['test.recent', 'test.pending']));
    // Not any tenant's job.
    expect((await api(a)({ method: 'GET', url: `/api/v1/jobs/${id}` })).statusCode).toBe(404);
    const [schedule] = await rows<{ cron: string }>(`select cron from pgboss.schedule where name = 'outbox.prune'`);
    expect(schedule?.cron).toBe('17 3 * * *');
  });

  it('reports unfinished jobs per name for health and metrics', async () => {
    const stats = await t.app.jobs.stats();
    expect(stats.role).toBe('all');
    expect(stats.working).toBe(true);
    expect(stats.queues['test.later']!.queued).toBeGreaterThan(0);
  });
});

describe('process roles', () => {
  it('ROLE=api enqueues but runs no handler', async () => {
    const t = await buildTestApp({ ROLE: 'api', JOBS_POLL_INTERVAL_SECONDS: '0.5' });
    try {
      const tenant = await createTenant(t.app);
      let ran = 0;
      await t.app.jobs.register('test.idle', async () => {
        ran++;
      });
      const id = await t.app.uow.write(systemActing(tenant.organizationId, null), async (work) => {
        const jobId = await work.enqueue('test.idle', { marker: 'api' });
        work.audit({ action: 'test.enqueue', resourceType: 'job', resourceId: jobId });
        return jobId;
      });
      expect((await t.app.jobs.stats()).working).toBe(false);
      // Three polling intervals of a worker: an api process has none, so the job stays queued.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(ran).toBe(0);
      const job = await as(t.app, tenant.users.admin.token)({ method: 'GET', url: `/api/v1/jobs/${id}` });
      expect(job.json()).toMatchObject({ state: 'created', attempts: 0 });
    } finally {
      await t.close();
    }
  });

  it('ROLE=worker serves its health and nothing else', async () => {
    const t = await buildTestApp({ ROLE: 'worker' });
    try {
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const api = await t.app.inject({ method: 'GET', url: '/api/v1/profile' });
      expect(api.statusCode).toBe(404);
      expect(api.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
      await t.app.jobs.settled();
      expect((await t.app.jobs.stats()).working).toBe(true);
    } finally {
      await t.close();
    }
  });
});
