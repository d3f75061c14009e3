import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import type { Role } from '../../platform/permissions.js';
import { invoices } from './billing.schema.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;
const now = new Date('2026-03-02T12:00:00.000Z');
const DAY = 24 * 3600_000;

beforeAll(async () => {
  t = await buildTestApp({}, { now: () => now });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
});
afterAll(() => t.close());

const call = (role: Role, tenant: Tenant = a) => as(t.app, tenant.users[role].token);
const operator = (tenant: Tenant = a) => call('operator', tenant);

interface Line {
  serviceCode: string;
  description: string;
  quantity: string;
  unitPrice: string;
  taxRate: string;
}
interface Invoice {
  id: string;
  number: string | null;
  kind: string;
  status: string;
  patientId: string;
  subtotal: string;
  tax: string;
  total: string;
  amountPaid: string;
  amountCredited: string;
  balanceDue: string;
  creditedInvoiceId: string | null;
  issuedAt: string | null;
  dueAt: string | null;
  lines: (Line & { subtotal: string; tax: string; total: string; position: number })[];
  payments: { kind: string; amount: string; reason: string | null }[];
  creditNotes: { id: string; total: string }[];
}

const line = (unitPrice: string, quantity = '1', taxRate = '0', serviceCode = 'CONS-01'): Line => ({
  serviceCode,
  description: 'Consultation',
  quantity,
  unitPrice,
  taxRate,
});

async function draft(lines: Line[], tenant: Tenant = a, patientId?: string): Promise<Invoice> {
  const res = await operator(tenant)({
    method: 'POST',
    url: '/api/v1/invoices',
    payload: { patientId: patientId ?? (await insertPatient(t.app, tenant)), lines },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function issued(total: string, tenant: Tenant = a): Promise<Invoice> {
  const invoice = await draft([line(total)], tenant);
  const res = await operator(tenant)({ method: 'POST', url: `/api/v1/invoices/${invoice.id}/issue` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const pay = (id: string, amount: unknown, tenant: Tenant = a) =>
  operator(tenant)({ method: 'POST', url: `/api/v1/invoices/${id}/payments`, payload: { amount } });
const refund = (id: string, amount: string) =>
  operator()({ method: 'POST', url: `/api/v1/invoices/${id}/refunds`, payload: { amount, reason: 'Overcharged' } });

async function auditActions(patientId: string): Promise<string[]> {
  const res = await call('admin')({ method: 'GET', url: `/api/v1/audit-events?patientId=${patientId}&limit=100` });
  expect(res.statusCode).toBe(200);
  return res.json<{ data: { action: string }[] }>().data.map((event) => event.action);
}

describe('invoice arithmetic (exact decimals, rounded per line, half up)', () => {
  it('adds 0.10 and 0.20 to exactly 0.30', async () => {
    const invoice = await draft([line('0.10'), line('0.20')]);
    expect(invoice).toMatchObject({ subtotal: '0.30', tax: '0.00', total: '0.30', balanceDue: '0.30' });
  });

  it('prices 3 x 33.33 at 7.25 %: 99.99, tax 7.249275 -> 7.25, total 107.24', async () => {
    const invoice = await draft([line('33.33', '3', '7.25', 'LAB-01')]);
    expect(invoice.lines[0]).toMatchObject({ quantity: '3', unitPrice: '33.33', taxRate: '7.25' });
    expect(invoice.lines[0]).toMatchObject({ subtotal: '99.99', tax: '7.25', total: '107.24' });
    expect(invoice).toMatchObject({ subtotal: '99.99', tax: '7.25', total: '107.24', amountPaid: '0.00' });
  });

  it('rounds each line, then sums the lines (3 lines of 0.333 x 1 at 7.25 %)', async () => {
    // Each line: 0.333 -> 0.33, tax 0.023925 -> 0.02, total 0.35; three lines 1.05 (not 1.00 + 0.07 of the sum).
    const invoice = await draft([line('1', '0.333', '7.25'), line('1', '0.333', '7.25'), line('1', '0.333', '7.25')]);
    expect(invoice).toMatchObject({ subtotal: '0.99', tax: '0.06', total: '1.05' });
  });

  it('keeps every cent around 1e9 and beyond what a binary double can hold', async () => {
    const billion = await draft([line('1000000000.00', '1', '7.25')]);
    expect(billion).toMatchObject({ subtotal: '1000000000.00', tax: '72500000.00', total: '1072500000.00' });
    // 3 x 333333333.33 = 999999999.99; tax 72499999.999275 -> 72500000.00
    const odd = await draft([line('333333333.33', '3', '7.25'), line('0.01')]);
    expect(odd).toMatchObject({ subtotal: '1000000000.00', tax: '72500000.00', total: '1072500000.00' });
    // 0.1 + 0.2 at the scale of 1e15: a double cannot even represent 1234567890123456.78.
    const huge = await draft([line('1234567890123456.78'), line('0.01')]);
    expect(huge.total).toBe('1234567890123456.79');
  });

  it('refuses JSON numbers, more decimals than the column keeps, signs and exponents with 400', async () => {
    const patientId = await insertPatient(t.app, a);
    const bad: [Partial<Line>, string][] = [
      [{ unitPrice: 12.5 as unknown as string }, 'unitPrice'],
      [{ quantity: 1 as unknown as string }, 'quantity'],
      [{ taxRate: 7.25 as unknown as string }, 'taxRate'],
      [{ unitPrice: '12.505' }, 'unitPrice'],
      [{ unitPrice: '-1.00' }, 'unitPrice'],
      [{ unitPrice: '1e3' }, 'unitPrice'],
      [{ unitPrice: '12345678901234567.00' }, 'unitPrice'],
      [{ quantity: '0' }, 'quantity'],
      [{ quantity: '1.0005' }, 'quantity'],
      [{ taxRate: '100.5' }, 'taxRate'],
      [{ taxRate: '7.2501' }, 'taxRate'],
    ];
    for (const [change, field] of bad) {
      const res = await operator()({
        method: 'POST',
        url: '/api/v1/invoices',
        payload: { patientId, lines: [{ ...line('10.00'), ...change }] },
      });
      expect(res.statusCode, JSON.stringify(change)).toBe(400);
      expect(res.json().error.details[0].path).toBe(`body.lines.0.${field}`);
    }
    const float = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: { patientId, lines: [{ ...line('1'), unitPrice: 0.1 }] },
    });
    expect(float.json().error.details[0].message).toContain('must be a decimal string');
    const payment = await pay((await issued('10.00')).id, 5);
    expect(payment.statusCode).toBe(400);
  });

  it('refuses a total larger than a money column holds', async () => {
    const res = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: {
        patientId: await insertPatient(t.app, a),
        lines: [line('9999999999999999.99', '2')],
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('the invoice total is too large');
  });
});

describe('drafts', () => {
  it('creates a draft for a patient and encounter, audited with the patient', async () => {
    const patientId = await insertPatient(t.app, a);
    const encounter = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
    expect(encounter.statusCode, encounter.body).toBe(201);
    const res = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: { patientId, encounterId: encounter.json().id, lines: [line('150.00')] },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ status: 'draft', kind: 'invoice', number: null, patientId, currency: 'USD' });
    expect(await auditActions(patientId)).toContain('invoices.create');
  });

  it("answers 404 for a patient or encounter of another tenant, 400 for another patient's encounter", async () => {
    const other = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: { patientId: await insertPatient(t.app, b), lines: [line('1.00')] },
    });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.message).toBe('patient not found');
    const bPatient = await insertPatient(t.app, b);
    const bEncounter = await call(
      'doctor',
      b,
    )({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: bPatient },
    });
    const patientId = await insertPatient(t.app, a);
    const foreign = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: { patientId, encounterId: bEncounter.json().id, lines: [line('1.00')] },
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.message).toBe('encounter not found');
    const otherPatient = await insertPatient(t.app, a);
    const aEncounter = await call('doctor')({
      method: 'POST',
      url: '/api/v1/encounters',
      payload: { patientId: otherPatient },
    });
    const mismatch = await operator()({
      method: 'POST',
      url: '/api/v1/invoices',
      payload: { patientId, encounterId: aEncounter.json().id, lines: [line('1.00')] },
    });
    expect(mismatch.statusCode).toBe(400);
  });

  it('replaces the lines of a draft and recomputes the totals', async () => {
    const invoice = await draft([line('10.00'), line('20.00')]);
    const res = await operator()({
      method: 'PATCH',
      url: `/api/v1/invoices/${invoice.id}`,
      payload: { lines: [line('33.33', '3', '7.25')] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<Invoice>().lines).toHaveLength(1);
    expect(res.json()).toMatchObject({ total: '107.24', status: 'draft' });
    const empty = await operator()({ method: 'PATCH', url: `/api/v1/invoices/${invoice.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
  });
});

describe('status machine: draft -> issued -> paid | void', () => {
  it('issues with consecutive numbers, the issue date and a due date 30 days later; issued is immutable', async () => {
    const first = await issued('10.00');
    const second = await issued('10.00');
    expect(first).toMatchObject({ status: 'issued', issuedAt: now.toISOString() });
    expect(first.dueAt).toBe(new Date(now.getTime() + 30 * DAY).toISOString());
    expect(first.number).toMatch(/^INV-\d{6}$/);
    expect(Number(second.number!.slice(4))).toBe(Number(first.number!.slice(4)) + 1);
    const patch = await operator()({
      method: 'PATCH',
      url: `/api/v1/invoices/${first.id}`,
      payload: { lines: [line('1.00')] },
    });
    expect(patch.statusCode).toBe(409);
    expect(patch.json().error.message).toBe(
      'the invoice is issued: it cannot be changed: correct it with a credit note',
    );
    const again = await operator()({ method: 'POST', url: `/api/v1/invoices/${first.id}/issue` });
    expect(again.statusCode).toBe(409);
  });

  it('gives concurrent issues distinct consecutive numbers', async () => {
    const drafts = await Promise.all(Array.from({ length: 8 }, () => draft([line('5.00')])));
    const answers = await Promise.all(
      drafts.map((d) => operator()({ method: 'POST', url: `/api/v1/invoices/${d.id}/issue`, payload: {} })),
    );
    expect(answers.map((res) => res.statusCode)).toEqual(answers.map(() => 200));
    const numbers = answers.map((res) => Number(res.json<Invoice>().number!.slice(4))).sort((x, y) => x - y);
    expect(new Set(numbers).size).toBe(8);
    expect(numbers.at(-1)! - numbers[0]!).toBe(7);
  });

  it('takes a due date, not before the issue; refuses to issue an invoice of 0.00', async () => {
    const invoice = await draft([line('10.00')]);
    const past = await operator()({
      method: 'POST',
      url: `/api/v1/invoices/${invoice.id}/issue`,
      payload: { dueAt: new Date(now.getTime() - DAY).toISOString() },
    });
    expect(past.statusCode).toBe(400);
    const dueAt = new Date(now.getTime() + 14 * DAY).toISOString();
    const ok = await operator()({ method: 'POST', url: `/api/v1/invoices/${invoice.id}/issue`, payload: { dueAt } });
    expect(ok.json().dueAt).toBe(dueAt);
    const zero = await draft([line('0.00')]);
    const res = await operator()({ method: 'POST', url: `/api/v1/invoices/${zero.id}/issue` });
    expect(res.statusCode).toBe(409);
  });

  it('pays in parts, becomes paid at a balance of 0, and refuses what is past the balance with 409', async () => {
    const invoice = await issued('100.00');
    const part = await pay(invoice.id, '30.10');
    expect(part.statusCode, part.body).toBe(201);
    expect(part.json()).toMatchObject({ status: 'issued', amountPaid: '30.10', balanceDue: '69.90' });
    const over = await pay(invoice.id, '69.91');
    expect(over.statusCode).toBe(409);
    expect(over.json().error.message).toBe('the payment of 69.91 is more than the balance due of 69.90');
    const rest = await pay(invoice.id, '69.90');
    expect(rest.json()).toMatchObject({ status: 'paid', amountPaid: '100.00', balanceDue: '0.00' });
    expect(
      rest
        .json<Invoice>()
        .payments.map((p) => p.amount)
        .sort(),
    ).toEqual(['30.10', '69.90']);
    const more = await pay(invoice.id, '0.01');
    expect(more.statusCode).toBe(409);
    expect(more.json().error.message).toBe('the invoice is paid: it cannot be paid');
    const actions = await auditActions(invoice.patientId);
    expect(actions).toEqual(expect.arrayContaining(['invoices.issue', 'invoices.pay', 'invoices.settle']));
  });

  it('refunds at most what was paid; a refunded paid invoice is issued again', async () => {
    const invoice = await issued('50.00');
    await pay(invoice.id, '50.00');
    const tooMuch = await refund(invoice.id, '50.01');
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json().error.message).toBe('the refund of 50.01 is more than the 50.00 paid');
    const res = await refund(invoice.id, '20.00');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ status: 'issued', amountPaid: '30.00', balanceDue: '20.00', paidAt: null });
    expect(res.json<Invoice>().payments.find((p) => p.kind === 'refund')).toMatchObject({
      kind: 'refund',
      amount: '20.00',
      reason: 'Overcharged',
    });
    expect(await auditActions(invoice.patientId)).toContain('invoices.refund');
    const unpaid = await issued('5.00');
    expect((await refund(unpaid.id, '1.00')).statusCode).toBe(409);
  });

  it('voids a draft, or an issued invoice with nothing paid; not one with money on it; void is final', async () => {
    const reason = { reason: 'Billed to the wrong account' };
    const d = await draft([line('5.00')]);
    const voided = await operator()({ method: 'POST', url: `/api/v1/invoices/${d.id}/void`, payload: reason });
    expect(voided.json()).toMatchObject({ status: 'void', voidReason: reason.reason, voidedAt: now.toISOString() });
    const i = await issued('5.00');
    const ok = await operator()({ method: 'POST', url: `/api/v1/invoices/${i.id}/void`, payload: reason });
    expect(ok.json().status).toBe('void');
    for (const action of ['issue', 'void']) {
      const res = await operator()({ method: 'POST', url: `/api/v1/invoices/${i.id}/${action}`, payload: reason });
      expect(res.statusCode).toBe(action === 'issue' ? 400 : 409);
    }
    expect((await pay(i.id, '1.00')).statusCode).toBe(409);
    const paid = await issued('5.00');
    await pay(paid.id, '2.00');
    const refused = await operator()({ method: 'POST', url: `/api/v1/invoices/${paid.id}/void`, payload: reason });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toBe('the invoice has 2.00 paid: refund it before voiding');
    const missing = await operator()({ method: 'POST', url: `/api/v1/invoices/${d.id}/void`, payload: {} });
    expect(missing.statusCode).toBe(400);
  });

  it('refuses a payment on a draft', async () => {
    const d = await draft([line('5.00')]);
    const res = await pay(d.id, '1.00');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toBe('the invoice is draft: it cannot be paid');
  });
});

describe('concurrent payments', () => {
  it('20 parallel payments of 10.00 against 100.00: exactly 10 succeed, the rest are 409', async () => {
    const invoice = await issued('100.00');
    const answers = await Promise.all(Array.from({ length: 20 }, () => pay(invoice.id, '10.00')));
    const codes = answers.map((res) => res.statusCode);
    expect(codes.filter((code) => code === 201)).toHaveLength(10);
    expect(codes.filter((code) => code === 409)).toHaveLength(10);
    const final = await call('manager')({ method: 'GET', url: `/api/v1/invoices/${invoice.id}` });
    expect(final.json()).toMatchObject({ status: 'paid', amountPaid: '100.00', balanceDue: '0.00' });
    expect(final.json<Invoice>().payments).toHaveLength(10);
  });

  it('parallel payments and refunds never take amount paid below 0 or above the total', async () => {
    const invoice = await issued('30.00');
    await pay(invoice.id, '30.00');
    const answers = await Promise.all([
      ...Array.from({ length: 6 }, () => refund(invoice.id, '10.00')),
      ...Array.from({ length: 6 }, () => pay(invoice.id, '10.00')),
    ]);
    expect(answers.every((res) => [201, 409].includes(res.statusCode))).toBe(true);
    const final = (await call('manager')({ method: 'GET', url: `/api/v1/invoices/${invoice.id}` })).json<Invoice>();
    const paid = final.payments.reduce((sum, p) => sum + (p.kind === 'payment' ? 1 : -1) * Number(p.amount), 0);
    expect(Number(final.amountPaid)).toBe(paid);
    expect(Number(final.amountPaid)).toBeGreaterThanOrEqual(0);
    expect(Number(final.amountPaid)).toBeLessThanOrEqual(30);
  });
});

describe('credit notes', () => {
  it('corrects an issued invoice: an issued credit note that reduces the balance', async () => {
    const invoice = await issued('100.00');
    await pay(invoice.id, '20.00');
    const res = await operator()({
      method: 'POST',
      url: `/api/v1/invoices/${invoice.id}/credit-notes`,
      payload: { lines: [line('25.00', '1', '7.25')], reason: 'Consultation billed twice' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const note = res.json<Invoice>();
    expect(note).toMatchObject({
      kind: 'credit-note',
      status: 'issued',
      creditedInvoiceId: invoice.id,
      total: '26.81',
      balanceDue: '0.00',
      creditReason: 'Consultation billed twice',
      patientId: invoice.patientId,
    });
    expect(note.number).toMatch(/^INV-\d{6}$/);
    const after = (await call('manager')({ method: 'GET', url: `/api/v1/invoices/${invoice.id}` })).json<Invoice>();
    expect(after).toMatchObject({
      amountCredited: '26.81',
      amountPaid: '20.00',
      balanceDue: '53.19',
      status: 'issued',
    });
    expect(after.creditNotes).toEqual([expect.objectContaining({ id: note.id, total: '26.81' })]);
    const actions = await auditActions(invoice.patientId);
    expect(actions).toEqual(expect.arrayContaining(['invoices.credit', 'credit-notes.issue']));
  });

  it('refuses a credit note larger than the balance (409), on a draft, and any change to a credit note', async () => {
    const invoice = await issued('40.00');
    await pay(invoice.id, '30.00');
    const tooMuch = await operator()({
      method: 'POST',
      url: `/api/v1/invoices/${invoice.id}/credit-notes`,
      payload: { lines: [line('10.01')], reason: 'Discount' },
    });
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json().error.message).toBe('the credit note of 10.01 is more than the balance due of 10.00');
    const exact = await operator()({
      method: 'POST',
      url: `/api/v1/invoices/${invoice.id}/credit-notes`,
      payload: { lines: [line('10.00')], reason: 'Discount' },
    });
    expect(exact.statusCode).toBe(201);
    const settled = (await call('manager')({ method: 'GET', url: `/api/v1/invoices/${invoice.id}` })).json<Invoice>();
    expect(settled).toMatchObject({ status: 'paid', balanceDue: '0.00' });
    const note = exact.json<Invoice>();
    expect((await pay(note.id, '1.00')).statusCode).toBe(409);
    const patch = await operator()({
      method: 'PATCH',
      url: `/api/v1/invoices/${note.id}`,
      payload: { lines: [line('1.00')] },
    });
    expect(patch.statusCode).toBe(409);
    const d = await draft([line('5.00')]);
    const onDraft = await operator()({
      method: 'POST',
      url: `/api/v1/invoices/${d.id}/credit-notes`,
      payload: { lines: [line('1.00')], reason: 'Discount' },
    });
    expect(onDraft.statusCode).toBe(409);
  });
});

describe('lists', () => {
  it('filters by patient and status, and records one read per invoice with its patient', async () => {
    const patientId = await insertPatient(t.app, a);
    const first = await draft([line('1.00')], a, patientId);
    await draft([line('2.00')], a, patientId);
    await operator()({ method: 'POST', url: `/api/v1/invoices/${first.id}/issue` });
    const all = await call('manager')({ method: 'GET', url: `/api/v1/invoices?patientId=${patientId}` });
    expect(
      all
        .json<{ data: Invoice[] }>()
        .data.map((i) => i.total)
        .sort(),
    ).toEqual(['1.00', '2.00']);
    const drafts = await call('manager')({
      method: 'GET',
      url: `/api/v1/invoices?patientId=${patientId}&status=draft`,
    });
    expect(drafts.json<{ data: Invoice[] }>().data).toHaveLength(1);
    expect((await auditActions(patientId)).filter((x) => x === 'invoices.list').length).toBe(3);
    const one = await call('manager')({ method: 'GET', url: `/api/v1/invoices/${first.id}` });
    expect(one.json()).toMatchObject({
      id: first.id,
      status: 'issued',
      lines: [expect.objectContaining({ total: '1.00' })],
    });
    expect(await auditActions(patientId)).toContain('invoices.read');
  });
});

describe('receivables', () => {
  it('sums unpaid balances of issued invoices by days past due, with counts, as decimal strings', async () => {
    const tenant = await createTenant(t.app);
    const at = async (total: string, paid: string | null, daysPastDue: number) => {
      const invoice = await issued(total, tenant);
      if (paid) expect((await pay(invoice.id, paid, tenant)).statusCode).toBe(201);
      // Issued earlier: its due date moved back (the clock stays put).
      await t.app.database.db
        .update(invoices)
        .set({ dueAt: new Date(now.getTime() - daysPastDue * DAY) })
        .where(eq(invoices.id, invoice.id));
      return invoice;
    };
    await at('100.10', '0.10', -5); // current: 100.00
    await at('0.10', null, 0); // due this instant: current
    await at('50.00', null, 0.01); // a part of a day past due: 1-30
    await at('20.00', null, 30); // 1-30
    await at('30.00', '10.00', 30.5); // 31-60: 20.00
    await at('0.20', null, 75); // 61-90
    await at('1000000000.00', null, 91); // 90+
    await at('10.00', '10.00', 200); // paid: not a receivable
    const voided = await at('10.00', null, 40);
    await call(
      'operator',
      tenant,
    )({
      method: 'POST',
      url: `/api/v1/invoices/${voided.id}/void`,
      payload: { reason: 'Error' },
    });
    await draft([line('99.00')], tenant); // drafts are not receivables
    const res = await call('manager', tenant)({ method: 'GET', url: '/api/v1/billing/receivables' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      asOf: now.toISOString(),
      currency: 'USD',
      buckets: [
        { bucket: 'current', count: 2, amount: '100.10' },
        { bucket: '1-30', count: 2, amount: '70.00' },
        { bucket: '31-60', count: 1, amount: '20.00' },
        { bucket: '61-90', count: 1, amount: '0.20' },
        { bucket: '90+', count: 1, amount: '1000000000.00' },
      ],
      total: { count: 7, amount: '1000000190.30' },
    });
    const empty = await call('manager', b)({ method: 'GET', url: '/api/v1/billing/receivables' });
    expect(empty.json().total).toEqual({ count: 0, amount: '0.00' });
  });
});

describe('security', () => {
  it('lets managers read but not change invoices; nurses and doctors see none; only managers run receivables', async () => {
    const invoice = await issued('10.00');
    expect((await call('manager')({ method: 'GET', url: `/api/v1/invoices/${invoice.id}` })).statusCode).toBe(200);
    expect(
      (
        await call('manager')({
          method: 'POST',
          url: `/api/v1/invoices/${invoice.id}/payments`,
          payload: { amount: '1.00' },
        })
      ).statusCode,
    ).toBe(403);
    for (const role of ['nurse', 'doctor', 'admin'] as const) {
      expect((await call(role)({ method: 'GET', url: '/api/v1/invoices' })).statusCode).toBe(403);
    }
    for (const role of ['operator', 'doctor', 'nurse', 'admin'] as const) {
      expect((await call(role)({ method: 'GET', url: '/api/v1/billing/receivables' })).statusCode).toBe(403);
    }
  });

  it("answers 404 to another tenant on every invoice route, and never lists another tenant's invoices", async () => {
    const invoice = await issued('10.00');
    const url = `/api/v1/invoices/${invoice.id}`;
    const attempts = [
      { method: 'GET' as const, url },
      { method: 'PATCH' as const, url, payload: { lines: [line('1.00')] } },
      { method: 'POST' as const, url: `${url}/issue` },
      { method: 'POST' as const, url: `${url}/void`, payload: { reason: 'x' } },
      { method: 'POST' as const, url: `${url}/payments`, payload: { amount: '1.00' } },
      { method: 'POST' as const, url: `${url}/refunds`, payload: { amount: '1.00', reason: 'x' } },
      { method: 'POST' as const, url: `${url}/credit-notes`, payload: { lines: [line('1.00')], reason: 'x' } },
    ];
    for (const attempt of attempts) {
      const res = await operator(b)(attempt);
      expect(res.statusCode, `${attempt.method} ${attempt.url}`).toBe(404);
      expect(res.json().error.message).toBe('invoice not found');
    }
    const list = await call('manager', b)({ method: 'GET', url: `/api/v1/invoices?patientId=${invoice.patientId}` });
    expect(list.json().data).toEqual([]);
    const [row] = await t.app.database.db
      .select({ paid: invoices.amountPaid, n: sql<number>`1` })
      .from(invoices)
      .where(eq(invoices.id, invoice.id));
    expect(row!.paid).toBe('0.00');
  });
});
