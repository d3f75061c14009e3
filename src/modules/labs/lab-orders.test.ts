import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import {
  as,
  buildTestApp,
  createTenant,
  type Tenant,
  tenantContext,
  type TestApp,
} from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { outboxMessages } from '../../platform/outbox/outbox.schema.js';
import { LAB_ORDER_ACTIONS, type LabOrderAction, type LabOrderStatus, nextStatus } from './lab-order-status.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
let clock = new Date('2026-11-23T08:00:00.000Z');
let patientId: string;
let otherPatientId: string;
let archivedPatientId: string;
let bPatientId: string;
let potassiumId: string;
let bTestId: string;

const tick = () => (clock = new Date(clock.getTime() + 60_000));
const doctor = () => as(t.app, a.users.doctor.token);
const nurse = () => as(t.app, a.users.nurse.token);

interface Order {
  id: string;
  status: string;
  priority: string;
  patientId: string;
  encounterId: string | null;
  testId: string;
  result: null | { value: string; unit: string; flag: string | null; ranges: Record<string, string | null> };
  timeline?: { type: string; actorId: string | null; detail: Record<string, unknown> | null; at: string }[];
}

async function createTest(tenant: Tenant, body: Record<string, unknown>) {
  const res = await as(t.app, tenant.users.admin.token)({ method: 'POST', url: '/api/v1/lab-tests', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

let n = 0;
const K = {
  name: 'Potassium, serum',
  unit: 'mmol/L',
  referenceLow: '3.5',
  referenceHigh: '5.1',
  criticalLow: '2.5',
  criticalHigh: '6.5',
};

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => clock });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  [patientId, otherPatientId, archivedPatientId, bPatientId] = await Promise.all([
    insertPatient(t.app, a),
    insertPatient(t.app, a),
    insertPatient(t.app, a, 'archived'),
    insertPatient(t.app, b),
  ]);
  potassiumId = await createTest(a, { code: 'K', ...K });
  bTestId = await createTest(b, { code: 'K', ...K });
});
afterAll(() => t.close());

async function order(payload: Record<string, unknown> = {}, caller = doctor()) {
  tick();
  return caller({ method: 'POST', url: '/api/v1/lab-orders', payload: { patientId, testId: potassiumId, ...payload } });
}

async function orderOk(payload: Record<string, unknown> = {}): Promise<Order> {
  const res = await order(payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json<Order>();
}

const ACTION_PATH: Record<LabOrderAction, string> = {
  collect: 'collect',
  start: 'start',
  result: 'results',
  review: 'review',
  cancel: 'cancel',
};
const ACTION_CALLER: Record<LabOrderAction, () => ReturnType<typeof as>> = {
  collect: nurse,
  start: nurse,
  result: nurse,
  review: doctor,
  cancel: doctor,
};
const ACTION_BODY: Partial<Record<LabOrderAction, Record<string, unknown>>> = {
  result: { value: '4.2', unit: 'mmol/L' },
  cancel: { reason: 'Duplicate order' },
};

async function act(
  id: string,
  action: LabOrderAction,
  payload = ACTION_BODY[action],
  caller = ACTION_CALLER[action](),
) {
  tick();
  return caller({ method: 'POST', url: `/api/v1/lab-orders/${id}/${ACTION_PATH[action]}`, payload });
}

/** The actions that take a new order to `status`. */
const PATH_TO: Record<LabOrderStatus, LabOrderAction[]> = {
  ordered: [],
  collected: ['collect'],
  'in-progress': ['collect', 'start'],
  resulted: ['collect', 'start', 'result'],
  reviewed: ['collect', 'start', 'result', 'review'],
  cancelled: ['cancel'],
};

async function orderIn(status: LabOrderStatus, payload: Record<string, unknown> = {}) {
  const created = await orderOk(payload);
  for (const action of PATH_TO[status]) {
    const res = await act(created.id, action);
    expect(res.statusCode, `${action}: ${res.body}`).toBe(200);
  }
  return created.id;
}

async function resultOf(value: string, testId = potassiumId) {
  const id = await orderIn('in-progress', { testId });
  const res = await act(id, 'result', { value, unit: 'mmol/L' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Order>();
}

const detail = async (id: string, caller = doctor()) => {
  const res = await caller({ method: 'GET', url: `/api/v1/lab-orders/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Order>();
};

const auditOf = (resourceId: string) =>
  t.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.organizationId, a.organizationId), eq(auditEvents.resourceId, resourceId)))
    .orderBy(auditEvents.seq);

const outboxOf = async (orderId: string) =>
  (await t.database.db.select().from(outboxMessages).where(eq(outboxMessages.organizationId, a.organizationId))).filter(
    (row) => (row.payload as { orderId?: string }).orderId === orderId,
  );

describe('POST /api/v1/lab-orders', () => {
  it('lets a doctor order a test, puts it on the timeline and the audit trail with the patient', async () => {
    const created = await orderOk({ priority: 'stat', notes: 'Fasting' });
    expect(created).toMatchObject({
      patientId,
      testId: potassiumId,
      test: { code: 'K', name: 'Potassium, serum', unit: 'mmol/L' },
      orderedBy: a.users.doctor.id,
      priority: 'stat',
      status: 'ordered',
      notes: 'Fasting',
      encounterId: null,
      result: null,
    });
    const read = await detail(created.id);
    expect(read.timeline).toEqual([
      {
        id: expect.any(String),
        type: 'ordered',
        actorId: a.users.doctor.id,
        detail: { priority: 'stat' },
        at: expect.any(String),
      },
    ]);
    const events = await auditOf(created.id);
    expect(events.map((e) => [e.action, e.patientId, e.actorId])).toEqual([
      ['lab-orders.create', patientId, a.users.doctor.id],
      ['lab-orders.read', patientId, a.users.doctor.id],
    ]);
  });

  it('orders in an open encounter of the patient', async () => {
    const opened = await doctor()({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    expect(opened.statusCode, opened.body).toBe(201);
    const created = await orderOk({ encounterId: opened.json().id });
    expect(created.encounterId).toBe(opened.json().id);
    expect(created.priority).toBe('routine');
  });

  it('answers 404 naming the field for a patient, test or encounter of another tenant, or none', async () => {
    const bEncounter = await as(
      t.app,
      b.users.doctor.token,
    )({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: bPatientId },
    });
    expect(bEncounter.statusCode).toBe(201);
    const cases = [
      [{ patientId: bPatientId }, 'patient not found', 'body.patientId'],
      [{ patientId: '00000000-0000-4000-8000-000000000000' }, 'patient not found', 'body.patientId'],
      [{ testId: bTestId }, 'lab test not found', 'body.testId'],
      [{ testId: '00000000-0000-4000-8000-000000000000' }, 'lab test not found', 'body.testId'],
      [{ encounterId: bEncounter.json().id }, 'encounter not found', 'body.encounterId'],
    ] as const;
    for (const [change, message, path] of cases) {
      const res = await order(change);
      expect(res.statusCode, JSON.stringify(change)).toBe(404);
      expect(res.json().error).toMatchObject({ message, details: [{ path }] });
    }
  });

  it("answers 409 for an archived patient, a deactivated test, a signed encounter; 400 for another patient's encounter", async () => {
    const archived = await order({ patientId: archivedPatientId });
    expect(archived.statusCode).toBe(409);
    expect(archived.json().error.message).toMatch(/archived/);

    const retired = await createTest(a, { code: `OLD-${++n}`, ...K });
    await as(
      t.app,
      a.users.admin.token,
    )({ method: 'PATCH', url: `/api/v1/lab-tests/${retired}`, payload: { active: false } });
    const inactive = await order({ testId: retired });
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json().error.message).toMatch(/deactivated/);

    const opened = await doctor()({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: otherPatientId },
    });
    const mismatch = await order({ encounterId: opened.json().id });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.details).toEqual([{ path: 'body.encounterId', message: expect.any(String) }]);

    await doctor()({ method: 'POST', url: `/api/v1/encounters/${opened.json().id}/sign` });
    const signed = await order({ patientId: otherPatientId, encounterId: opened.json().id });
    expect(signed.statusCode).toBe(409);
    expect(signed.json().error.message).toMatch(/signed/);
  });

  it.each([
    ['an unknown priority', { priority: 'asap' }, 'body.priority'],
    ['an unknown field', { value: '1' }, 'body'],
    ['a malformed test id', { testId: 'not an id' }, 'body.testId'],
  ])('refuses %s with 400', async (_, change, path) => {
    const res = await order(change);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe(path);
  });

  it('is for doctors only (403 for nurses, managers, operators and admins)', async () => {
    for (const role of ['nurse', 'manager', 'operator', 'admin'] as const) {
      const res = await order({}, as(t.app, a.users[role].token));
      expect(res.statusCode, role).toBe(403);
    }
  });
});

describe('the status machine over HTTP', () => {
  it('goes ordered -> collected -> in-progress -> resulted -> reviewed, each step on the timeline with its actor', async () => {
    const created = await orderOk();
    const steps: [LabOrderAction, string][] = [
      ['collect', 'collected'],
      ['start', 'in-progress'],
      ['result', 'resulted'],
      ['review', 'reviewed'],
    ];
    for (const [action, status] of steps) {
      const res = await act(created.id, action);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().status).toBe(status);
    }
    const read = await detail(created.id, as(t.app, a.users.manager.token));
    expect(read).toMatchObject({
      status: 'reviewed',
      collectedBy: a.users.nurse.id,
      reviewedBy: a.users.doctor.id,
      result: { value: '4.2', unit: 'mmol/L', flag: 'normal', resultedBy: a.users.nurse.id },
    });
    expect(read.timeline!.map((e) => [e.type, e.actorId])).toEqual([
      ['ordered', a.users.doctor.id],
      ['collected', a.users.nurse.id],
      ['started', a.users.nurse.id],
      ['resulted', a.users.nurse.id],
      ['reviewed', a.users.doctor.id],
    ]);
    const actions = (await auditOf(created.id)).map((e) => [e.action, e.patientId]);
    for (const action of ['create', 'collect', 'start', 'result', 'review', 'read']) {
      expect(actions).toContainEqual([`lab-orders.${action}`, patientId]);
    }
  });

  it('cancels before a result, with the reason on the order and the timeline', async () => {
    for (const status of ['ordered', 'collected', 'in-progress'] as const) {
      const id = await orderIn(status);
      const res = await act(id, 'cancel', { reason: 'Specimen lost' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'cancelled', cancelReason: 'Specimen lost' });
      const read = await detail(id);
      expect(read.timeline!.at(-1)).toMatchObject({
        type: 'cancelled',
        actorId: a.users.doctor.id,
        detail: { reason: 'Specimen lost' },
      });
    }
    const noReason = await act(await orderIn('ordered'), 'cancel', {});
    expect(noReason.statusCode).toBe(400);
  });

  const statuses: LabOrderStatus[] = ['ordered', 'collected', 'in-progress', 'resulted', 'reviewed', 'cancelled'];
  const refused = statuses.flatMap((status) =>
    LAB_ORDER_ACTIONS.filter((action) => nextStatus(status, action) === undefined).map(
      (action) => [status, action] as const,
    ),
  );
  it.each(refused)(
    'refuses from %s the action %s with 409 naming from and to, and changes nothing',
    async (status, action) => {
      const id = await orderIn(status);
      const before = await detail(id);
      const res = await act(id, action);
      expect(res.statusCode, res.body).toBe(409);
      const to = {
        collect: 'collected',
        start: 'in-progress',
        result: 'resulted',
        review: 'reviewed',
        cancel: 'cancelled',
      }[action];
      expect(res.json().error.message).toContain(`${status} -> ${to}`);
      const after = await detail(id);
      expect(after.status).toBe(status);
      expect(after.timeline).toHaveLength(before.timeline!.length);
    },
  );

  it('lets one of two results recorded at once through (the other gets 409)', async () => {
    const id = await orderIn('in-progress');
    const [one, two] = await Promise.all([
      act(id, 'result', { value: '4.0', unit: 'mmol/L' }),
      act(id, 'result', { value: '4.4', unit: 'mmol/L' }),
    ]);
    expect([one.statusCode, two.statusCode].sort()).toEqual([200, 409]);
    const read = await detail(id);
    expect(read.timeline!.filter((e) => e.type === 'resulted')).toHaveLength(1);
  });

  it('keeps each step to its role: 403 for the others', async () => {
    const id = await orderIn('ordered');
    const cases: [LabOrderAction, readonly string[]][] = [
      ['collect', ['doctor', 'manager', 'operator', 'admin']],
      ['start', ['doctor', 'manager', 'operator', 'admin']],
      ['result', ['doctor', 'manager', 'operator', 'admin']],
      ['review', ['nurse', 'manager', 'operator', 'admin']],
      ['cancel', ['nurse', 'manager', 'operator', 'admin']],
    ];
    for (const [action, roles] of cases) {
      for (const role of roles) {
        const res = await act(id, action, ACTION_BODY[action], as(t.app, a.users[role as 'doctor'].token));
        expect(res.statusCode, `${role} ${action}`).toBe(403);
      }
    }
    for (const role of ['operator', 'admin'] as const) {
      const res = await as(t.app, a.users[role].token)({ method: 'GET', url: `/api/v1/lab-orders/${id}` });
      expect(res.statusCode, role).toBe(403);
    }
  });

  it('answers 404 to another tenant for every route on an order (and to a missing one)', async () => {
    const id = await orderIn('in-progress');
    const bDoctor = as(t.app, b.users.doctor.token);
    expect((await bDoctor({ method: 'GET', url: `/api/v1/lab-orders/${id}` })).statusCode).toBe(404);
    for (const action of LAB_ORDER_ACTIONS) {
      const caller = as(t.app, b.users[action === 'review' || action === 'cancel' ? 'doctor' : 'nurse'].token);
      const res = await act(id, action, ACTION_BODY[action], caller);
      expect(res.statusCode, action).toBe(404);
      expect(res.json().error.message).toBe('lab order not found');
    }
    const listed = await bDoctor({ method: 'GET', url: `/api/v1/lab-orders?patientId=${patientId}` });
    expect(listed.json().data).toEqual([]);
    expect((await detail(id)).status).toBe('in-progress');
    const missing = await doctor()({ method: 'GET', url: '/api/v1/lab-orders/00000000-0000-4000-8000-000000000000' });
    expect(missing.statusCode).toBe(404);
  });
});

describe('POST /api/v1/lab-orders/:id/results', () => {
  it.each([
    ['2.4999', 'critical-low'],
    ['2.5', 'critical-low'],
    ['2.5001', 'low'],
    ['3.4999', 'low'],
    ['3.5', 'normal'],
    ['3.50', 'normal'],
    ['5.1', 'normal'],
    ['5.1001', 'high'],
    ['6.4999', 'high'],
    ['6.5', 'critical-high'],
    ['6.50000001', 'critical-high'],
  ])('flags %s as %s and keeps the ranges it used', async (value, flag) => {
    const result = await resultOf(value);
    expect(result.result).toMatchObject({
      value,
      unit: 'mmol/L',
      flag,
      ranges: { referenceLow: '3.5', referenceHigh: '5.1', criticalLow: '2.5', criticalHigh: '6.5' },
    });
  });

  it('flags a test with bounds missing on the sides that are set only, and a test without ranges not at all', async () => {
    const upperOnly = await createTest(a, {
      code: `CHOL-${++n}`,
      name: 'Cholesterol',
      unit: 'mmol/L',
      referenceHigh: '5.2',
    });
    expect((await resultOf('0.1', upperOnly)).result!.flag).toBe('normal');
    expect((await resultOf('5.2', upperOnly)).result!.flag).toBe('normal');
    expect((await resultOf('5.2001', upperOnly)).result!.flag).toBe('high');
    const none = await createTest(a, { code: `RAW-${++n}`, name: 'Raw', unit: 'mmol/L' });
    const unflagged = await resultOf('9', none);
    expect(unflagged.result).toMatchObject({ flag: null, ranges: { referenceLow: null, criticalHigh: null } });
  });

  it('keeps a result as it was flagged when the catalog changes later', async () => {
    const test = await createTest(a, {
      code: `NA-${++n}`,
      name: 'Sodium',
      unit: 'mmol/L',
      referenceLow: '135',
      referenceHigh: '145',
    });
    const before = await resultOf('146', test);
    await as(
      t.app,
      a.users.admin.token,
    )({ method: 'PATCH', url: `/api/v1/lab-tests/${test}`, payload: { referenceHigh: '150' } });
    expect((await detail(before.id)).result).toMatchObject({ flag: 'high', ranges: { referenceHigh: '145' } });
    expect((await resultOf('146', test)).result).toMatchObject({ flag: 'normal', ranges: { referenceHigh: '150' } });
  });

  it("refuses a unit other than the test's with 400 saying which, and records nothing", async () => {
    const id = await orderIn('in-progress');
    const res = await act(id, 'result', { value: '4.2', unit: 'mg/dL' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      message: "the result must be in the test's unit, mmol/L",
      details: [{ path: 'body.unit', message: expect.stringContaining('"mmol/L"') }],
    });
    const caseOnly = await act(id, 'result', { value: '4.2', unit: 'MMOL/L' });
    expect(caseOnly.statusCode).toBe(400);
    expect((await detail(id)).status).toBe('in-progress');
  });

  it.each([
    ['a JSON number', { value: 4.2, unit: 'mmol/L' }, /decimal string/],
    ['an exponent', { value: '4e0', unit: 'mmol/L' }, /decimal/],
    ['a comma', { value: '4,2', unit: 'mmol/L' }, /decimal/],
    ['no unit', { value: '4.2' }, /./],
    ['an empty value', { value: '', unit: 'mmol/L' }, /decimal/],
  ])('refuses a value with %s with 400', async (_, payload, message) => {
    const id = await orderIn('in-progress');
    const res = await act(id, 'result', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].message).toMatch(message);
  });
});

describe('critical results', () => {
  it('escalate in the same transaction: a timeline entry and one outbox message with ids only', async () => {
    const opened = await doctor()({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    const id = await orderIn('in-progress', { encounterId: opened.json().id });
    const res = await act(id, 'result', { value: '6.5', unit: 'mmol/L' });
    expect(res.json().result.flag).toBe('critical-high');
    const read = await detail(id);
    // The alerts module may already have answered the message (`alert-not-raised` or `alert-raised` after these).
    expect(read.timeline!.map((e) => e.type).slice(0, 5)).toEqual([
      'ordered',
      'collected',
      'started',
      'resulted',
      'escalation-requested',
    ]);
    expect(read.timeline![4]).toMatchObject({
      actorId: null,
      detail: { flag: 'critical-high', topic: 'lab.result.critical' },
    });
    const messages = await outboxOf(id);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ topic: 'lab.result.critical', organizationId: a.organizationId });
    expect(messages[0]!.payload).toEqual({
      organizationId: a.organizationId,
      orderId: id,
      patientId,
      testId: potassiumId,
      flag: 'critical-high',
      encounterId: opened.json().id,
    });
    expect((await auditOf(id)).map((e) => e.action)).toContain('lab-orders.escalate');
  });

  it('are escalated with the result or not at all: a rolled-back result leaves no timeline entry and no message', async () => {
    const id = await orderIn('in-progress');
    const ctx = tenantContext(a, 'nurse', 'lab-rollback-test');
    await expect(
      t.app.uow.write(ctx, async () => {
        await t.app.labOrders.recordResult(ctx, id, { value: '9', unit: 'mmol/L' });
        throw new Error('something after the result failed');
      }),
    ).rejects.toThrow('something after the result failed');
    expect(await outboxOf(id)).toEqual([]);
    const read = await detail(id);
    expect(read).toMatchObject({ status: 'in-progress', result: null });
    expect(read.timeline!.map((e) => e.type)).toEqual(['ordered', 'collected', 'started']);
  });

  it('a critical-low one too (encounterId null without an encounter)', async () => {
    const result = await resultOf('2.5');
    const [message] = await outboxOf(result.id);
    expect(message!.payload).toMatchObject({ flag: 'critical-low', encounterId: null });
  });

  it('are delivered once to the clinical alerts module, which says on the order what became of them', async () => {
    const result = await resultOf('1');
    await t.app.outbox.deliverDue();
    await t.app.outbox.settle();
    const [message] = await outboxOf(result.id);
    expect(message).toMatchObject({ lastError: null });
    expect(message!.deliveredAt).not.toBeNull();
    // This order has no encounter in a room, so no alert (test/alerts-critical-lab.test.ts has the rest).
    expect((await detail(result.id)).timeline!.map((e) => e.type)).toContain('alert-not-raised');
  });

  it('nothing is escalated for normal, low or high results', async () => {
    for (const value of ['4', '3.4999', '5.1001']) {
      const result = await resultOf(value);
      expect(await outboxOf(result.id)).toEqual([]);
      expect((await detail(result.id)).timeline!.map((e) => e.type)).not.toContain('escalation-requested');
    }
  });
});

describe('GET /api/v1/lab-orders', () => {
  it('filters on patient, status and flag (critical, abnormal), pages, and audits each order listed', async () => {
    const patient = await insertPatient(t.app, a);
    const ids = {
      ordered: await orderIn('ordered', { patientId: patient }),
      normal: await (async () => {
        const id = await orderIn('in-progress', { patientId: patient });
        await act(id, 'result', { value: '4', unit: 'mmol/L' });
        return id;
      })(),
      critical: await (async () => {
        const id = await orderIn('in-progress', { patientId: patient });
        await act(id, 'result', { value: '7', unit: 'mmol/L' });
        return id;
      })(),
      low: await (async () => {
        const id = await orderIn('in-progress', { patientId: patient });
        await act(id, 'result', { value: '3', unit: 'mmol/L' });
        return id;
      })(),
    };
    const list = async (query: string) => {
      const res = await as(
        t.app,
        a.users.manager.token,
      )({ method: 'GET', url: `/api/v1/lab-orders?patientId=${patient}&${query}` });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ data: Order[]; nextCursor: string | null }>();
    };
    expect((await list('')).data.map((o) => o.id)).toEqual([ids.ordered, ids.normal, ids.critical, ids.low]);
    expect((await list('status=ordered')).data.map((o) => o.id)).toEqual([ids.ordered]);
    expect((await list('flag=critical')).data.map((o) => o.id)).toEqual([ids.critical]);
    expect((await list('flag=critical-high')).data.map((o) => o.id)).toEqual([ids.critical]);
    expect((await list('flag=abnormal')).data.map((o) => o.id)).toEqual([ids.critical, ids.low]);
    expect((await list('flag=normal')).data.map((o) => o.id)).toEqual([ids.normal]);
    const first = await list('limit=3');
    expect(first.data).toHaveLength(3);
    expect((await list(`limit=3&cursor=${first.nextCursor}`)).data.map((o) => o.id)).toEqual([ids.low]);
    const listed = await t.database.db
      .select()
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.organizationId, a.organizationId),
          eq(auditEvents.action, 'lab-orders.list'),
          eq(auditEvents.resourceId, ids.critical),
        ),
      );
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => e.patientId === patient && e.actorId === a.users.manager.id)).toBe(true);
  });

  it('refuses an unknown flag or status with 400, and an operator with 403', async () => {
    for (const query of ['flag=bad', 'status=done', 'patientId=not%20an%20id']) {
      const res = await doctor()({ method: 'GET', url: `/api/v1/lab-orders?${query}` });
      expect(res.statusCode, query).toBe(400);
    }
    const operator = await as(t.app, a.users.operator.token)({ method: 'GET', url: '/api/v1/lab-orders' });
    expect(operator.statusCode).toBe(403);
  });
});
