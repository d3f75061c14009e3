import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Patient } from '../src/modules/patients/patients.shapes.js';
import { registerErrorHandling } from '../src/platform/http/errors.js';
import { serializerCompiler } from '../src/platform/http/serializer.js';

/** A bare app with Wardline's serializer and error envelope, answering `value` under `schema`. */
async function answer(schema: z.ZodType, value: unknown) {
  const logs: string[] = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => logs.push(line) } } });
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  app.get('/x', { schema: { response: { 200: schema } } }, async () => value);
  const res = await app.inject({ method: 'GET', url: '/x' });
  await app.close();
  return { res, logs: logs.join('\n') };
}

/** What the zod serializer it replaced wrote: the value encoded by the schema, then JSON.stringify. */
const zodWrites = (schema: z.ZodType, value: unknown) => JSON.stringify(z.encode(schema, value));

const row = (i: number) => ({
  id: `0b7c1a52-4b8e-4d57-9f0e-${String(i).padStart(12, '0')}`,
  organizationId: 'not-in-the-answer',
  mrn: `MRN-${i}`,
  givenName: 'José',
  familyName: 'García "Ñ" \u2028',
  searchGiven: 'jose',
  searchFamily: 'garcia',
  birthDate: '1980-02-29',
  sex: 'male',
  phone: i % 2 ? '+1 555 010 2030' : null,
  phoneDigits: '15550102030',
  email: null,
  address: i % 2 ? { line1: '1 Main St', city: 'Springfield', country: 'US', geocode: 'not listed' } : null,
  emergencyContact: i % 3 ? null : { name: 'Ana', phone: '1 555', pin: 'not listed' },
  allergies: [{ substance: 'penicillin', severity: 'severe', internalNote: 'not listed' }],
  primaryHospitalId: null,
  status: 'active',
  createdAt: new Date(Date.UTC(2026, 11, 7, 5, 6, 7, 89)),
  updatedAt: new Date(Date.UTC(2026, 11, 7, 5, 6, 8, 0)),
});

describe('the response serializer (fast-json-stringify from the zod schemas)', () => {
  it('writes a page of patients byte for byte as the zod serializer did, without the columns it does not list', async () => {
    const Page = z.object({ items: z.array(Patient), nextCursor: z.string().nullable() });
    const page = { items: Array.from({ length: 6 }, (_, i) => row(i)), nextCursor: null, total: 'not listed' };
    const { res } = await answer(Page, page);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(zodWrites(Page, page));
    for (const hidden of ['not-in-the-answer', 'not listed', 'searchGiven', 'phoneDigits'])
      expect(res.body).not.toContain(hidden);
    expect(res.json().items[0].createdAt).toBe('2026-12-07T05:06:07.089Z');
  });

  it('writes only the fields of the branch of a union that the value matches', async () => {
    const Event = z.object({
      event: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('note'), text: z.string() }),
        z.object({ kind: z.literal('vitals'), at: z.date(), pulse: z.number().int().nullable() }),
      ]),
    });
    const value = { event: { kind: 'vitals', at: new Date(0), pulse: 72, patientName: 'Jane Doe' } };
    const { res } = await answer(Event, value);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(zodWrites(Event, value));
    expect(res.body).not.toContain('Jane');
  });

  it('answers 500 in the envelope, echoing nothing, when an answer does not match its schema', async () => {
    // fast-json-stringify's own message would quote the value it could not write.
    const { res, logs } = await answer(z.object({ heartRate: z.number().int() }), { heartRate: 'Jane Doe' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    expect(res.body).not.toContain('Jane');
    expect(logs).toContain('does not match its response schema');
    expect(logs).not.toContain('Jane');
  });

  it('answers 500 when a required field is missing, rather than an answer without it', async () => {
    const { res } = await answer(z.object({ id: z.string(), mrn: z.string() }), { id: 'p1' });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('p1');
  });
});
