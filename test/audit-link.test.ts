import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRecord } from '../src/platform/audit/audit-event.js';
import { auditEvents, auditPending } from '../src/platform/audit/audit.schema.js';
import { pendingEvents, verifyChain } from '../src/platform/audit/audit-verify.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

// A write's audit events go to audit_pending in its transaction and are linked into the chain right
// after the commit, by a pass shared with the writes committing meanwhile (audit-log.ts).

let t: TestApp;
let a: Tenant;
beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const valid = { givenName: 'Ada', familyName: 'Linkcheck', birthDate: '1980-02-03', sex: 'female' };
const register = () => as(t.app, a.users.operator.token)({ method: 'POST', url: '/api/v1/patients', payload: valid });

async function chainedCreates() {
  return t.database.db
    .select({ seq: auditEvents.seq, patientId: auditEvents.patientId })
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, a.organizationId), eq(auditEvents.action, 'patients.create')));
}

describe("a write's audit events", () => {
  it('are in the chain, not pending, when the write answers', async () => {
    const res = await register();
    expect(res.statusCode).toBe(201);
    const created = (await chainedCreates()).filter((e) => e.patientId === res.json().id);
    expect(created).toHaveLength(1);
    expect(await pendingEvents(t.database.db)).toBe(0);
  });

  it('of concurrent writes of one organization are all linked, numbered without gaps, and the chain holds', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, register));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(12).fill(201));
    const ids = new Set(answers.map((r) => r.json().id as string));
    const linked = (await chainedCreates()).filter((e) => ids.has(e.patientId!));
    expect(linked).toHaveLength(12);
    const all = await t.database.db
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(eq(auditEvents.chainId, a.organizationId));
    const seqs = all.map((e) => e.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect((await verifyChain(t.database.db, a.organizationId)).broken).toBeNull();
  });

  it('left pending by a process that stopped between commit and link are linked by the next pass', async () => {
    // What a write that committed and was then killed (-9) leaves behind.
    const event = {
      organizationId: a.organizationId,
      occurredAt: new Date(),
      actorType: 'user' as const,
      actorId: a.users.operator.id,
      actorRole: 'operator',
      action: 'test.left-pending',
      resourceType: 'test',
      resourceId: 'x',
      patientId: null,
      patientIds: null,
      outcome: 'success' as const,
      ip: null,
      userAgent: null,
      requestId: 'left-pending-1',
    };
    await t.database.db.insert(auditPending).values({ record: appendRecord(event) });
    expect(await pendingEvents(t.database.db)).toBe(1);
    await t.app.auditLog.link();
    expect(await pendingEvents(t.database.db)).toBe(0);
    const [linked] = await t.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, a.organizationId), eq(auditEvents.action, 'test.left-pending')));
    expect(linked?.requestId).toBe('left-pending-1');
    expect((await verifyChain(t.database.db, a.organizationId)).broken).toBeNull();
  });

  it('cannot be changed or removed while pending, other than by linking', async () => {
    await t.database.db.execute(sql`insert into audit_pending (record) values ('{"chain_id": "x"}'::jsonb)`);
    await expect(t.database.db.execute(sql`update audit_pending set record = '{}'::jsonb`)).rejects.toThrow();
    await expect(t.database.db.execute(sql`delete from audit_pending`)).rejects.toThrow();
    await expect(t.database.db.execute(sql`truncate audit_pending`)).rejects.toThrow();
    // Not a valid event: linking it fails, and it stays where it is.
    await expect(t.app.auditLog.link()).rejects.toThrow();
    expect(await pendingEvents(t.database.db)).toBe(1);
  });
});
