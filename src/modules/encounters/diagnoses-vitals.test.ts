import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../platform/permissions.js';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import { as, buildTestApp, type Tenant, createTenant, type TestApp } from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  a = await createTenant(t.app);
});
afterAll(() => t.close());

const call = (role: Role) => as(t.app, a.users[role].token);

async function openEncounter(): Promise<string> {
  const patientId = await insertPatient(t.app, a);
  const res = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
  return res.json().id;
}

describe('POST /api/v1/encounters/:id/diagnoses', () => {
  const add = (id: string, payload: object, role: Role = 'doctor') =>
    call(role)({ method: 'POST', url: `/api/v1/encounters/${id}/diagnoses`, payload });

  it('accepts ICD-10 codes in any case, stored upper case', async () => {
    const id = await openEncounter();
    for (const [code, stored] of [
      ['J45.909', 'J45.909'],
      [' e11.9 ', 'E11.9'],
      ['R05', 'R05'],
      ['S72.001A', 'S72.001A'],
      ['u07.1', 'U07.1'],
    ]) {
      const res = await add(id, { code, text: 'Some condition' });
      expect(res.statusCode, code).toBe(201);
      expect(res.json()).toMatchObject({ code: stored, primary: false, recordedBy: a.users.doctor.id });
    }
  });

  it('refuses a code of the wrong shape with a clear 400', async () => {
    const id = await openEncounter();
    for (const code of ['ZZZ', 'J4', '45.9', 'J45.', 'J45.90901', '']) {
      const res = await add(id, { code, text: 'Asthma' });
      expect(res.statusCode, code).toBe(400);
      expect(res.json().error.details[0]).toMatchObject({ path: 'body.code' });
    }
    const zzz = await add(id, { code: 'ZZZ', text: 'Asthma' });
    expect(zzz.json().error.details[0].message).toContain('is not an ICD-10 code');
    const detail = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(detail.json().diagnoses).toEqual([]);
  });

  it('requires a plain-text description', async () => {
    const id = await openEncounter();
    for (const text of [undefined, '', 'a\u202eb', 'x'.repeat(501)]) {
      const res = await add(id, { code: 'J45.909', ...(text === undefined ? {} : { text }) });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('body.text');
    }
  });

  it('keeps one primary per encounter: a new primary demotes the old one', async () => {
    const id = await openEncounter();
    const first = await add(id, { code: 'J45.909', text: 'Asthma', primary: true });
    await add(id, { code: 'R05', text: 'Cough' });
    const second = await add(id, { code: 'J18.9', text: 'Pneumonia', primary: true });
    expect(second.json().primary).toBe(true);
    const detail = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    const primaries = detail.json().diagnoses.filter((d: { primary: boolean }) => d.primary);
    expect(primaries.map((d: { id: string }) => d.id)).toEqual([second.json().id]);
    expect(detail.json().diagnoses.find((d: { id: string }) => d.id === first.json().id).primary).toBe(false);
  });

  it('keeps one primary when several are added at once', async () => {
    const id = await openEncounter();
    const codes = ['J45.909', 'R05', 'J18.9', 'E11.9'];
    const answers = await Promise.all(codes.map((code) => add(id, { code, text: 'Concurrent', primary: true })));
    expect(answers.map((res) => res.statusCode)).toEqual([201, 201, 201, 201]);
    const detail = await call('doctor')({ method: 'GET', url: `/api/v1/encounters/${id}` });
    expect(detail.json().diagnoses.filter((d: { primary: boolean }) => d.primary)).toHaveLength(1);
  });

  it('is refused to a nurse (403 naming diagnoses:write)', async () => {
    const id = await openEncounter();
    const res = await add(id, { code: 'R05', text: 'Cough' }, 'nurse');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('diagnoses:write');
  });
});

describe('POST /api/v1/encounters/:id/vitals', () => {
  let id: string;
  beforeAll(async () => {
    id = await openEncounter();
  });
  const record = (payload: object, role: Role = 'nurse') =>
    call(role)({ method: 'POST', url: `/api/v1/encounters/${id}/vitals`, payload });

  it('records every type in range, in its canonical unit', async () => {
    const cases: [object, object][] = [
      [
        { type: 'heart-rate', value: 72, unit: 'bpm' },
        { value: 72, unit: 'bpm', secondaryValue: null },
      ],
      [
        { type: 'blood-pressure', value: '120/80', unit: 'mmHg' },
        { value: 120, secondaryValue: 80, unit: 'mmHg' },
      ],
      [
        { type: 'blood-pressure', value: { systolic: 135, diastolic: 85 }, unit: 'mmHg' },
        { value: 135, secondaryValue: 85 },
      ],
      [
        { type: 'temperature', value: 37.2, unit: '°C' },
        { value: 37.2, unit: '°C' },
      ],
      [
        { type: 'spo2', value: 98, unit: '%' },
        { value: 98, unit: '%' },
      ],
      [
        { type: 'respiratory-rate', value: 16, unit: 'breaths/min' },
        { value: 16, unit: 'breaths/min' },
      ],
      [
        { type: 'weight', value: 70.5, unit: 'kg' },
        { value: 70.5, unit: 'kg' },
      ],
      [
        { type: 'height', value: 172, unit: 'cm' },
        { value: 172, unit: 'cm' },
      ],
      [
        { type: 'pain-score', value: 4, unit: '/10' },
        { value: 4, unit: '/10' },
      ],
      [
        { type: 'pain-score', value: 0 },
        { value: 0, unit: '/10' },
      ],
    ];
    for (const [payload, stored] of cases) {
      const res = await record(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(201);
      expect(res.json()).toMatchObject({ ...stored, recordedBy: a.users.nurse.id, encounterId: id });
    }
  });

  it('converts °F, lb and in to °C, kg and cm', async () => {
    const cases: [object, number, string][] = [
      [{ type: 'temperature', value: 98.6, unit: '°F' }, 37, '°C'],
      [{ type: 'temperature', value: 101.3, unit: '°F' }, 38.5, '°C'],
      [{ type: 'weight', value: 154, unit: 'lb' }, 69.853, 'kg'],
      [{ type: 'height', value: 70, unit: 'in' }, 177.8, 'cm'],
    ];
    for (const [payload, value, unit] of cases) {
      const res = await record(payload);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ value, unit });
    }
  });

  it('refuses out-of-range values with a message naming the value and the range', async () => {
    const cases: [object, string][] = [
      [{ type: 'heart-rate', value: 350, unit: 'bpm' }, 'heart-rate 350 bpm is outside 20-300 bpm'],
      [{ type: 'heart-rate', value: 10, unit: 'bpm' }, 'heart-rate 10 bpm is outside 20-300 bpm'],
      [{ type: 'blood-pressure', value: '400/80', unit: 'mmHg' }, 'blood-pressure systolic 400 mmHg is outside'],
      [{ type: 'blood-pressure', value: '120/5', unit: 'mmHg' }, 'blood-pressure diastolic 5 mmHg is outside'],
      [{ type: 'blood-pressure', value: '80/120', unit: 'mmHg' }, 'the diastolic must be below the systolic'],
      [{ type: 'temperature', value: 400, unit: '°C' }, 'temperature 400 °C is outside 25-45 °C'],
      [{ type: 'temperature', value: 212, unit: '°F' }, 'temperature 212 °F (100 °C) is outside 25-45 °C'],
      [{ type: 'spo2', value: 101, unit: '%' }, 'spo2 101 % is outside 50-100 %'],
      [{ type: 'spo2', value: 30, unit: '%' }, 'spo2 30 % is outside 50-100 %'],
      [{ type: 'respiratory-rate', value: 2, unit: 'breaths/min' }, 'respiratory-rate 2 breaths/min is outside 4-80'],
      [{ type: 'weight', value: 0.1, unit: 'kg' }, 'weight 0.1 kg is outside 0.2-500 kg'],
      [{ type: 'weight', value: 1200, unit: 'lb' }, 'weight 1200 lb (544.311 kg) is outside 0.2-500 kg'],
      [{ type: 'height', value: 300, unit: 'cm' }, 'height 300 cm is outside 20-272 cm'],
      [{ type: 'height', value: 5, unit: 'in' }, 'height 5 in (12.7 cm) is outside 20-272 cm'],
      [{ type: 'pain-score', value: 11, unit: '/10' }, 'pain-score 11 is not a whole number from 0 to 10'],
      [{ type: 'pain-score', value: 2.5, unit: '/10' }, 'pain-score 2.5 is not a whole number from 0 to 10'],
    ];
    for (const [payload, message] of cases) {
      const res = await record(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.message).toContain(message);
      expect(res.json().error.details[0].path).toBe('body.value');
    }
  });

  it("refuses a unit that is not its type's, and an unknown type", async () => {
    const cases: object[] = [
      { type: 'heart-rate', value: 72, unit: '%' },
      { type: 'temperature', value: 37, unit: 'K' },
      { type: 'weight', value: 70, unit: 'cm' },
      { type: 'height', value: 170, unit: 'kg' },
      { type: 'spo2', value: 98, unit: 'bpm' },
      { type: 'blood-pressure', value: '120/80', unit: 'kPa' },
      { type: 'respiratory-rate', value: 16 },
      { type: 'pain-score', value: 3, unit: 'mmHg' },
    ];
    for (const payload of cases) {
      const res = await record(payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error.details[0].path).toBe('body.unit');
    }
    const unknown = await record({ type: 'glucose', value: 5, unit: 'mmol/L' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details[0].path).toBe('body.type');
    const malformed = await record({ type: 'blood-pressure', value: '120 over 80', unit: 'mmHg' });
    expect(malformed.statusCode).toBe(400);
    const text = await record({ type: 'heart-rate', value: '72', unit: 'bpm' });
    expect(text.statusCode).toBe(400);
  });

  it('refuses a recordedAt before 1900 (years below 100 would not read back as stored)', async () => {
    const res = await record({ type: 'spo2', value: 97, unit: '%', recordedAt: '0050-06-01T00:00:00Z' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe('body.recordedAt');
  });

  it('takes recordedAt, and refuses one in the future', async () => {
    const res = await record({ type: 'heart-rate', value: 80, unit: 'bpm', recordedAt: '2026-01-15T08:30:00+01:00' });
    expect(res.statusCode).toBe(201);
    expect(res.json().recordedAt).toBe('2026-01-15T07:30:00.000Z');
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const later = await record({ type: 'heart-rate', value: 80, unit: 'bpm', recordedAt: future });
    expect(later.statusCode).toBe(400);
    expect(later.json().error.details[0].path).toBe('body.recordedAt');
  });

  it('is refused to an operator (403 naming vitals:record), and audited for the nurse', async () => {
    const res = await record({ type: 'heart-rate', value: 72, unit: 'bpm' }, 'operator');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('vitals:record');
    const events = await call('admin')({ method: 'GET', url: '/api/v1/audit-events?action=vitals.record&limit=5' });
    expect(events.json().data[0]).toMatchObject({ actorId: a.users.nurse.id, resourceType: 'vital' });
    expect(events.json().data[0].patientId).toEqual(expect.any(String));
  });
});
