import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import {
  INVOICE_ACTIONS,
  INVOICE_MACHINE,
  INVOICE_STATUSES,
  type InvoiceAction,
  type InvoiceStatus,
} from './invoice-status.js';

let t: TestApp;
let a: Tenant;
let patientId: string;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
  patientId = await insertPatient(t.app, a);
});
afterAll(() => t.close());

const operator = () => as(t.app, a.users.operator.token);
const line = { serviceCode: 'CONS-01', description: 'Consultation', quantity: '1', unitPrice: '10.00', taxRate: '0' };

async function post(url: string, payload?: unknown) {
  return operator()({ method: 'POST', url, payload: payload as object });
}

/** The legal path from a new draft to each status. */
async function invoiceIn(status: InvoiceStatus): Promise<string> {
  const res = await post('/api/v1/invoices', { patientId, lines: [line] });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json<{ id: string }>().id;
  if (status === 'void') expect((await post(`/api/v1/invoices/${id}/void`, { reason: 'Error' })).statusCode).toBe(200);
  if (status === 'issued' || status === 'paid')
    expect((await post(`/api/v1/invoices/${id}/issue`)).statusCode).toBe(200);
  if (status === 'paid')
    expect((await post(`/api/v1/invoices/${id}/payments`, { amount: '10.00' })).statusCode).toBe(201);
  return id;
}

/** Calls `action` with an amount its status allows (1.00 of the 10.00, or the whole balance to settle). */
async function act(id: string, status: InvoiceStatus, action: InvoiceAction) {
  const url = `/api/v1/invoices/${id}`;
  switch (action) {
    case 'update':
      return operator()({ method: 'PATCH', url, payload: { lines: [line, line] } });
    case 'issue':
      return post(`${url}/issue`);
    case 'void':
      return post(`${url}/void`, { reason: 'Error' });
    case 'pay':
      return post(`${url}/payments`, { amount: '1.00' });
    case 'settle':
      return post(`${url}/payments`, { amount: '10.00' });
    case 'refund':
      // Something paid to refund, where a payment is possible.
      if (status === 'issued') await post(`${url}/payments`, { amount: '1.00' });
      return post(`${url}/refunds`, { amount: '1.00', reason: 'Overcharged' });
    case 'credit':
      return post(`${url}/credit-notes`, { lines: [{ ...line, unitPrice: '1.00' }], reason: 'Discount' });
  }
}

describe('the invoice status machine', () => {
  it('allows exactly the transitions of its table, from every status; 409 names the status otherwise', async () => {
    for (const status of INVOICE_STATUSES) {
      for (const action of INVOICE_ACTIONS) {
        const id = await invoiceIn(status);
        const res = await act(id, status, action);
        const next = INVOICE_MACHINE[status][action];
        const label = `${status} -> ${action}`;
        if (next) {
          expect([200, 201], `${label}: ${res.body}`).toContain(res.statusCode);
          const after = await operator()({ method: 'GET', url: `/api/v1/invoices/${id}` });
          expect(after.json().status, label).toBe(next);
        } else {
          expect(res.statusCode, label).toBe(409);
          expect(res.json().error.message, label).toMatch(new RegExp(`^the invoice is ${status}: it cannot be`));
        }
      }
    }
  }, 180_000);
});
