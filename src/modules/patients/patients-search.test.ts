import { and, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, createTenant, type Tenant, type TestApp } from '../../../test/helpers/test-app.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { preparedShape, prefixEnd, searchWords } from './patient-name-search.js';

let t: TestApp;
let a: Tenant;
let b: Tenant;

interface Created {
  id: string;
  mrn: string;
  familyName: string;
  givenName: string;
}

const people = {
  jose: { givenName: 'José', familyName: 'García', birthDate: '1980-01-02', phone: '+34 600 111 222' },
  josefina: { givenName: 'JOSEFINA', familyName: 'Lopez', birthDate: '1975-06-30' },
  josephine: { givenName: 'Joséphine', familyName: 'Martin', birthDate: '1990-12-01' },
  ana: { givenName: 'Ana', familyName: 'García-Jones', birthDate: '1980-01-02' },
  mariaJose: { givenName: 'Maria Jose', familyName: 'Álvarez', birthDate: '2001-03-04' },
  zoe: { givenName: 'Zoë', familyName: 'Ångström', birthDate: '1966-07-08', phone: '(555) 010-9999' },
  underscore: { givenName: 'Una', familyName: 'Under_score', birthDate: '1955-01-01' },
  underX: { givenName: 'Ugo', familyName: 'Underxscore', birthDate: '1955-01-01' },
  percent: { givenName: 'Pat', familyName: '50% Smith', birthDate: '1955-01-01' },
} as const;
const made: Record<keyof typeof people, Created> = {} as never;

async function create(tenant: Tenant, body: object): Promise<Created> {
  const res = await as(t.app, tenant.users.operator.token)({ method: 'POST', url: '/api/v1/patients', payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function search(query: string, tenant = a, role: 'operator' | 'nurse' | 'doctor' = 'nurse') {
  const res = await as(t.app, tenant.users[role].token)({ method: 'GET', url: `/api/v1/patients?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ data: Created[]; nextCursor: string | null }>();
}

const names = (page: { data: Created[] }) => page.data.map((p) => `${p.givenName} ${p.familyName}`);

beforeAll(async () => {
  t = await buildTestApp({ SIGNIN_IP_LIMIT_PER_MINUTE: '1000' });
  [a, b] = await Promise.all([createTenant(t.app), createTenant(t.app)]);
  for (const [key, person] of Object.entries(people)) {
    made[key as keyof typeof people] = await create(a, { ...person, sex: 'unknown' });
  }
  // A namesake in another tenant, never found from A.
  await create(b, { ...people.jose, sex: 'male' });
});
afterAll(() => t.close());

describe('GET /api/v1/patients: search', () => {
  it('finds a name prefix whatever its case and accents, on given or family name, sorted by family then given', async () => {
    const expected = ['José García', 'JOSEFINA Lopez', 'Joséphine Martin'];
    expect(names(await search('q=jose'))).toEqual(expected);
    expect(names(await search(`q=${encodeURIComponent('JOSÉ')}`))).toEqual(expected);
    expect(names(await search('q=JoSePh'))).toEqual(['Joséphine Martin']);
    expect(names(await search('q=garc'))).toEqual(['José García', 'Ana García-Jones']);
    expect(names(await search(`q=${encodeURIComponent('ångs')}`))).toEqual(['Zoë Ångström']);
    expect(names(await search('q=zoe'))).toEqual(['Zoë Ångström']);
    // A prefix, not a substring: "arcia" is inside García but starts nothing.
    expect(names(await search('q=arcia'))).toEqual([]);
  });

  it('matches two words as family and given (either order), or as one compound name', async () => {
    expect(names(await search(`q=${encodeURIComponent('garcia jo')}`))).toEqual(['José García']);
    expect(names(await search(`q=${encodeURIComponent('José García')}`))).toEqual(['José García']);
    expect(names(await search(`q=${encodeURIComponent('maria jose')}`))).toEqual(['Maria Jose Álvarez']);
    expect(names(await search(`q=${encodeURIComponent('  garcia   ana ')}`))).toEqual(['Ana García-Jones']);
  });

  it('takes % and _ in a search literally', async () => {
    expect(names(await search('q=under_'))).toEqual(['Una Under_score']);
    expect(names(await search(`q=${encodeURIComponent('50%')}`))).toEqual(['Pat 50% Smith']);
    expect(names(await search(`q=${encodeURIComponent('%')}`))).toEqual([]);
    expect(names(await search(`q=${encodeURIComponent('\\')}`))).toEqual([]);
  });

  it('answers a prepared search (three characters or more) and a planned one alike, whatever the words', async () => {
    // One statement per shape: searches of one word share it, whatever the word; "jo" is planned each time.
    expect(names(await search('q=jos'))).toEqual(['José García', 'JOSEFINA Lopez', 'Joséphine Martin']);
    expect(names(await search('q=lop'))).toEqual(['JOSEFINA Lopez']);
    expect(names(await search('q=jo'))).toEqual(['José García', 'JOSEFINA Lopez', 'Joséphine Martin']);
    expect(names(await search('q=garcia jos'))).toEqual(['José García']);
    expect(names(await search(`q=${encodeURIComponent('álv mar')}`))).toEqual(['Maria Jose Álvarez']);
    const page = await search('q=jos&limit=1');
    expect(names(page)).toEqual(['José García']);
    expect(names(await search(`q=jos&limit=1&cursor=${page.nextCursor}`))).toEqual(['JOSEFINA Lopez']);
  });

  it('prepares a search by its shape: word count, filters, cursor; not with a word under three characters', () => {
    const shape = (q: string | undefined, more: object = {}, cursor?: { id: string }) =>
      preparedShape({ words: searchWords(q), filter: { status: 'active', ...more }, limit: 20, cursor });
    expect(shape('jos')).toBe('patients_search_1_0000');
    expect(shape('Zoë')).toBe(shape('abc'));
    expect(shape('garcia jos', { birthDate: '1980-01-02' })).toBe('patients_search_2_1000');
    expect(shape(undefined, { mrn: 'MRN-1' }, { id: 'x' })).toBe('patients_search_0_0101');
    expect(shape('jo')).toBeUndefined();
    expect(shape('garcia j')).toBeUndefined();
  });

  it('bounds a prefix by the least string after all that start with it', () => {
    expect(prefixEnd('abc')).toBe('abd');
    expect(prefixEnd('az')).toBe('a{');
    expect(prefixEnd('garcia jo')).toBe('garcia jp');
    expect(prefixEnd('a\u{10FFFF}')).toBe('b');
    expect(prefixEnd('a\uD7FF')).toBe('a\uE000');
    expect(prefixEnd('\u{10FFFF}')).toBeUndefined();
  });

  it('lists who each patient is, and none of their contacts, address or clinical data', async () => {
    const full = {
      givenName: 'Summer',
      familyName: 'Listed',
      birthDate: '1984-02-29',
      sex: 'female',
      phone: '+1 555 010 4242',
      email: 'summer@example.test',
      address: { line1: '1 Main St', city: 'Springfield', country: 'US' },
      emergencyContact: { name: 'Sam Listed', phone: '+1 555 010 4243' },
      allergies: [{ substance: 'penicillin', severity: 'severe' }],
    };
    const created = await create(a, full);
    const [listed] = (await search('q=listed')).data;
    expect(listed).toEqual({
      id: created.id,
      mrn: created.mrn,
      givenName: 'Summer',
      familyName: 'Listed',
      birthDate: '1984-02-29',
      sex: 'female',
      status: 'active',
      primaryHospitalId: null,
    });
    // The record itself is one read away, audited as a read of that patient.
    const read = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/patients/${created.id}` });
    expect(read.json()).toMatchObject({ phone: full.phone, address: full.address, allergies: full.allergies });
  });

  it('finds by MRN, by birth date and by phone digits, alone or together', async () => {
    expect(names(await search(`mrn=${made.zoe.mrn}`))).toEqual(['Zoë Ångström']);
    expect(names(await search('birthDate=1980-01-02'))).toEqual(['José García', 'Ana García-Jones']);
    expect(names(await search('birthDate=1980-01-02&q=ana'))).toEqual(['Ana García-Jones']);
    expect(names(await search(`phone=${encodeURIComponent('+34 (600) 111-222')}`))).toEqual(['José García']);
    expect(names(await search('phone=5550109999'))).toEqual(['Zoë Ångström']);
    expect(names(await search('phone=5550109999&birthDate=1980-01-02'))).toEqual([]);
  });

  it("never lists another tenant's patients", async () => {
    const inB = await search('q=jose', b);
    expect(inB.data).toHaveLength(1);
    expect(inB.data[0]!.id).not.toBe(made.jose.id);
    expect((await search(`mrn=${made.zoe.mrn}`, b)).data.map((p) => p.id)).not.toContain(made.zoe.id);
  });

  it('refuses a malformed filter or cursor with 400', async () => {
    for (const query of ['birthDate=1980-13-01', 'status=deleted', 'phone=abc', 'limit=0', 'cursor=bm90LWEtY3Vyc29y']) {
      const res = await as(t.app, a.users.nurse.token)({ method: 'GET', url: `/api/v1/patients?${query}` });
      expect(res.statusCode, query).toBe(400);
    }
    const control = await as(t.app, a.users.nurse.token)({ method: 'GET', url: '/api/v1/patients?q=jo%00se' });
    expect(control.statusCode).toBe(400);
  });

  it('records the search as one event naming every patient listed, found again from each patient', async () => {
    const page = await search('q=jose', a, 'doctor');
    expect(page.data.length).toBeGreaterThan(1);
    const events = await t.database.db
      .select({
        id: auditEvents.id,
        resourceType: auditEvents.resourceType,
        patientId: auditEvents.patientId,
        patientIds: auditEvents.patientIds,
      })
      .from(auditEvents)
      .where(and(eq(auditEvents.actorId, a.users.doctor.id), eq(auditEvents.action, 'patients.list')));
    expect(events).toEqual([
      { id: expect.any(String), resourceType: 'patient-list', patientId: null, patientIds: page.data.map((p) => p.id) },
    ]);
    // Each patient's access log shows the search, as the trail's own filter by patient does.
    const admin = as(t.app, a.users.admin.token);
    for (const patient of page.data) {
      const log = await admin({ method: 'GET', url: `/api/v1/patients/${patient.id}/access-log?limit=100` });
      expect(log.statusCode, log.body).toBe(200);
      expect(log.json<{ data: { id: string }[] }>().data.map((e) => e.id)).toContain(events[0]!.id);
      const trail = await admin({ method: 'GET', url: `/api/v1/audit-events?patientId=${patient.id}&limit=100` });
      const found = trail.json<{ data: { id: string; patientIds: string[] | null }[] }>().data;
      // Filtered by one patient, the list's event names that patient only, as a patient's report must.
      expect(found.find((e) => e.id === events[0]!.id)?.patientIds).toEqual([patient.id]);
    }
    // A search that found one patient names it as the event's patient.
    const one = await search('q=josep', a, 'doctor');
    expect(one.data).toHaveLength(1);
    const [single] = await t.database.db
      .select({ patientId: auditEvents.patientId, patientIds: auditEvents.patientIds })
      .from(auditEvents)
      .where(and(eq(auditEvents.actorId, a.users.doctor.id), eq(auditEvents.action, 'patients.list')))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    expect(single).toEqual({ patientId: one.data[0]!.id, patientIds: null });
  });
});

describe('GET /api/v1/patients: pagination', () => {
  it('pages in name order with no duplicate and no gap while patients are being added', async () => {
    const tenant = await createTenant(t.app);
    const families = ['Moss', 'Baker', 'Young', 'Diaz', 'Kim', 'Abbott', 'Quinn', 'Hale', 'Evans', 'Smith', 'Nash'];
    const existing: Created[] = [];
    for (const [i, familyName] of families.entries()) {
      existing.push(await create(tenant, { givenName: `Pat${i}`, familyName, birthDate: '1970-01-01', sex: 'other' }));
    }
    // Two namesakes: the id breaks the tie, and neither is lost at a page boundary.
    existing.push(await create(tenant, { givenName: 'Pat', familyName: 'Kim', birthDate: '1970-01-01', sex: 'other' }));
    existing.push(await create(tenant, { givenName: 'Pat', familyName: 'Kim', birthDate: '1971-01-01', sex: 'other' }));

    const seen: Created[] = [];
    let cursor: string | null = null;
    let round = 0;
    do {
      const page = await search(`limit=3${cursor ? `&cursor=${cursor}` : ''}`, tenant);
      seen.push(...page.data);
      cursor = page.nextCursor;
      // Between pages, patients arrive before and after the current position (at the end only at first,
      // so that the walk ends).
      for (const familyName of [`Aaron${round}`, `Mid${round}`, ...(round < 3 ? [`Zz${round}`] : [])]) {
        await create(tenant, { givenName: 'New', familyName, birthDate: '1980-01-01', sex: 'unknown' });
      }
      round++;
    } while (cursor);

    const ids = seen.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const patient of existing) expect(ids).toContain(patient.id);
    const order = seen.map((p) => `${p.familyName.toLowerCase()}\u0000${p.givenName.toLowerCase()}`);
    expect(order).toEqual([...order].sort());
    expect(round).toBeGreaterThan(4);
  });
});

describe('GET /api/v1/patients: a name search across its ways of matching', () => {
  it('lists a patient whom several ways match once, and pages them all in name order', async () => {
    const tenant = await createTenant(t.app);
    const add = (givenName: string, familyName: string) =>
      create(tenant, { givenName, familyName, birthDate: '1970-01-01', sex: 'other' });
    const both = await add('Martina', 'Martin'); // family and given both start with "mart"
    await add('Marta', 'Abbott'); // given only
    await add('Zed', 'Martinez'); // family only
    await add('Marty', 'Martinez'); // both, a namesake family
    const lee = await add('Lee', 'Lee'); // "lee lee": family + given, and given + family

    expect(names(await search('q=mart', tenant))).toEqual([
      'Marta Abbott',
      'Martina Martin',
      'Marty Martinez',
      'Zed Martinez',
    ]);
    expect((await search(`q=${encodeURIComponent('lee lee')}`, tenant)).data.map((p) => p.id)).toEqual([lee.id]);
    expect((await search(`q=${encodeURIComponent('martin martina')}`, tenant)).data.map((p) => p.id)).toEqual([
      both.id,
    ]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await search(`q=mart&limit=1${cursor ? `&cursor=${cursor}` : ''}`, tenant);
      seen.push(...names(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['Marta Abbott', 'Martina Martin', 'Marty Martinez', 'Zed Martinez']);
  });
});

describe('GET /api/v1/patients: the cursor', () => {
  it('says nothing about anyone: it travels in URLs, proxy logs and browser history', async () => {
    const page = await search('limit=1');
    expect(page.nextCursor).not.toBeNull();
    const decoded = Buffer.from(page.nextCursor!, 'base64url').toString('utf8').toLowerCase();
    const [shown] = page.data;
    for (const part of [shown!.familyName, shown!.givenName, shown!.mrn]) {
      expect(decoded).not.toContain(part.toLowerCase());
    }
  });
});

describe('GET /api/v1/patients/lookup: two identifiers', () => {
  const lookup = (query: string, tenant = a) =>
    as(t.app, tenant.users.nurse.token)({ method: 'GET', url: `/api/v1/patients/lookup?${query}` });

  it('selects the one patient an MRN names, and records the read', async () => {
    const res = await lookup(`mrn=${made.josefina.mrn}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: made.josefina.id, familyName: 'Lopez' });
    const [event] = await t.database.db
      .select({ patientId: auditEvents.patientId })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'patients.lookup'), eq(auditEvents.actorId, a.users.nurse.id)));
    expect(event?.patientId).toBe(made.josefina.id);
  });

  it('selects by family name (accents and case aside) with the birth date', async () => {
    const res = await lookup('familyName=LOPEZ&birthDate=1975-06-30');
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(made.josefina.id);
    const withGiven = await lookup('familyName=garcia&givenName=jose&birthDate=1980-01-02');
    expect(withGiven.json().id).toBe(made.jose.id);
  });

  it('never selects by a name alone: 400 asking for a second identifier', async () => {
    for (const query of ['familyName=Lopez', 'familyName=Lopez&givenName=Josefina', 'givenName=Josefina', '']) {
      const res = await lookup(query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.details[0].message).toMatch(/second identifier/);
    }
    const dateAlone = await lookup('birthDate=1975-06-30');
    expect(dateAlone.statusCode).toBe(400);
    const givenAndDate = await lookup('givenName=Josefina&birthDate=1975-06-30');
    expect(givenAndDate.statusCode).toBe(400);
    expect(givenAndDate.json().error.details[0].path).toBe('querystring.familyName');
  });

  it('answers 409 without patient data when several patients match, 200 once a third identifier decides', async () => {
    await create(a, { givenName: 'Lee', familyName: 'Twin', birthDate: '2010-10-10', sex: 'male' });
    await create(a, { givenName: 'Kai', familyName: 'Twin', birthDate: '2010-10-10', sex: 'female' });
    const res = await lookup('familyName=Twin&birthDate=2010-10-10');
    expect(res.statusCode).toBe(409);
    expect(res.body).not.toMatch(/twin|2010-10-10|Lee|Kai/i);
    const decided = await lookup('familyName=Twin&givenName=kai&birthDate=2010-10-10');
    expect(decided.statusCode).toBe(200);
    expect(decided.json().givenName).toBe('Kai');
  });

  it('answers 404 when nothing matches: a wrong second identifier, an unknown MRN, another tenant', async () => {
    expect((await lookup('familyName=Lopez&birthDate=1975-06-29')).statusCode).toBe(404);
    expect((await lookup(`mrn=${made.josefina.mrn}&birthDate=1975-06-29`)).statusCode).toBe(404);
    expect((await lookup('mrn=NOPE-1')).statusCode).toBe(404);
    expect((await lookup(`mrn=${made.josefina.mrn}`, b)).statusCode).toBe(404);
    expect((await lookup('familyName=Lopez&birthDate=1975-06-30', b)).statusCode).toBe(404);
  });
});
