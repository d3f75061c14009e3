/**
 * Synthetic clinical history for a demo or seeded organization: a hospital with units and rooms,
 * staff profiles and open shifts, patients with appointments, encounters, signed notes, diagnoses and
 * vitals. Every person is invented (faker, seeded: the same seed gives the same data). Rows are
 * written in bulk, in the caller's transaction, with one system audit event saying what was made.
 */
import { randomUUID } from 'node:crypto';
import { base, de, en, es, Faker, fr } from '@faker-js/faker';
import { appendAuditEvents } from '../platform/audit/audit-log.js';
import type { Executor } from '../platform/db/database.js';
import { appointments } from '../modules/appointments/appointments.schema.js';
import { diagnoses, encounters, notes, noteVersions, vitals } from '../modules/encounters/encounters.schema.js';
import { hospitals, rooms, units } from '../modules/hospitals/hospitals.schema.js';
import { foldForSearch, phoneDigits } from '../modules/patients/patient-names.js';
import { type Allergy, patients } from '../modules/patients/patients.schema.js';
import { organizationCounters } from '../platform/db/counters.schema.js';
import { shifts, staffProfiles } from '../modules/staff/staff.schema.js';
import type { Role } from '../platform/permissions.js';
import { type OrdersSummary, seedOrdersData } from './orders-data.js';

export interface ClinicalSeed {
  organizationId: string;
  hospitalName: string;
  /** User ids of the staff, by role (one each). */
  staff: Record<Role, string>;
  patients: number;
  seed: number;
  now: Date;
  onProgress?: (done: number, total: number) => void;
}

export interface ClinicalSummary {
  hospitals: number;
  units: number;
  rooms: number;
  patients: number;
  appointments: number;
  encounters: number;
  vitals: number;
  orders: OrdersSummary;
}

const UNITS = [
  { name: 'Emergency', kind: 'emergency', rooms: 8 },
  { name: 'Ward 4B', kind: 'ward', rooms: 12 },
  { name: 'Intensive Care', kind: 'icu', rooms: 6 },
  { name: 'Outpatient Clinic', kind: 'clinic', rooms: 6 },
];
const ALLERGENS = ['penicillin', 'amoxicillin', 'sulfonamides', 'aspirin', 'ibuprofen', 'latex', 'peanuts', 'iodine'];
const SEVERITIES: Allergy['severity'][] = ['mild', 'moderate', 'severe', 'life-threatening'];
const DIAGNOSES = [
  ['J06.9', 'Acute upper respiratory infection, unspecified'],
  ['I10', 'Essential (primary) hypertension'],
  ['E11.9', 'Type 2 diabetes mellitus without complications'],
  ['M54.5', 'Low back pain'],
  ['J45.909', 'Unspecified asthma, uncomplicated'],
  ['K21.9', 'Gastro-esophageal reflux disease without esophagitis'],
  ['R51', 'Headache'],
  ['S93.401A', 'Sprain of unspecified ligament of right ankle, initial encounter'],
] as const;
const REASONS = ['Follow-up', 'Annual check-up', 'Cough and fever', 'Blood pressure review', 'Back pain', 'Headache'];

const BATCH = 500;
/** Orders, stock and invoices are made for the first patients only: a sample, however many are seeded. */
const ORDER_PATIENTS = 300;
const SLOT_MS = 20 * 60_000;

async function insertAll<T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await insert(rows.slice(i, i + BATCH));
}

export async function seedClinicalData(tx: Executor, seed: ClinicalSeed): Promise<ClinicalSummary> {
  const { organizationId: org, staff, now } = seed;
  // Birth dates are drawn back from the start of the day, not from this instant: a seed gives the same
  // people whenever in the day it runs (from the instant, a birth date near midnight moved a day).
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const locales = [
    new Faker({ locale: [en, base] }),
    new Faker({ locale: [es, en, base] }),
    new Faker({ locale: [fr, en, base] }),
    new Faker({ locale: [de, en, base] }),
  ];
  locales.forEach((faker, i) => faker.seed(seed.seed * 31 + i));
  const f = locales[0]!;

  const hospitalId = randomUUID();
  await tx.insert(hospitals).values({
    id: hospitalId,
    organizationId: org,
    name: seed.hospitalName,
    isDefault: true,
    timezone: 'UTC',
    address: f.location.streetAddress(),
  });
  const unitRows = UNITS.map((unit) => ({
    id: randomUUID(),
    organizationId: org,
    hospitalId,
    name: unit.name,
    kind: unit.kind,
  }));
  await tx.insert(units).values(unitRows);
  const roomRows = UNITS.flatMap((unit, u) =>
    Array.from({ length: unit.rooms }, (_, r) => ({
      id: randomUUID(),
      organizationId: org,
      hospitalId,
      unitId: unitRows[u]!.id,
      name: `${u + 1}${String(r + 1).padStart(2, '0')}`,
    })),
  );
  await tx.insert(rooms).values(roomRows);
  const ward = unitRows[1]!;
  const clinicRooms = roomRows.filter((room) => room.unitId === unitRows[3]!.id);

  await tx.insert(staffProfiles).values(
    (Object.entries(staff) as [Role, string][]).map(([role, userId]) => ({
      organizationId: org,
      userId,
      hospitalId,
      unitId: role === 'operator' ? unitRows[3]!.id : ward.id,
      licenceNumber: role === 'doctor' || role === 'nurse' ? `LIC-${f.string.numeric(6)}` : null,
      specialization: role === 'doctor' ? 'Internal medicine' : null,
      phone: f.phone.number({ style: 'international' }),
    })),
  );
  // The ward's nurse and doctor are on duty, so the roster (and later the alerts) have someone to page.
  const shiftStart = new Date(now.getTime() - 2 * 3600_000);
  await tx.insert(shifts).values(
    (['nurse', 'doctor'] as const).map((role) => ({
      organizationId: org,
      userId: staff[role],
      hospitalId,
      unitId: ward.id,
      role,
      startedAt: shiftStart,
      startedBy: staff[role],
    })),
  );

  const summary: Omit<ClinicalSummary, 'orders'> = {
    hospitals: 1,
    units: unitRows.length,
    rooms: roomRows.length,
    patients: 0,
    appointments: 0,
    encounters: 0,
    vitals: 0,
  };
  const orderPatients: { id: string; allergies: Allergy[] }[] = [];
  const orderEncounters: { id: string; patientId: string; at: Date }[] = [];
  let pastSlot = 0;
  let futureSlot = 0;
  for (let start = 0; start < seed.patients; start += BATCH) {
    const count = Math.min(BATCH, seed.patients - start);
    const patientRows = Array.from({ length: count }, (_, i) => {
      const n = start + i + 1;
      const faker = locales[n % locales.length]!;
      const sex = faker.helpers.weightedArrayElement([
        { value: 'female', weight: 50 },
        { value: 'male', weight: 48 },
        { value: 'other', weight: 1 },
        { value: 'unknown', weight: 1 },
      ]);
      const givenName = faker.person.firstName(sex === 'female' || sex === 'male' ? sex : undefined);
      const familyName = faker.person.lastName();
      const phone = faker.phone.number({ style: 'international' });
      const allergies: Allergy[] =
        faker.number.int({ min: 1, max: 10 }) === 1
          ? [
              {
                substance: faker.helpers.arrayElement(ALLERGENS),
                reaction: 'rash',
                severity: faker.helpers.arrayElement(SEVERITIES),
              },
            ]
          : [];
      return {
        id: randomUUID(),
        organizationId: org,
        mrn: `MRN-${String(n).padStart(6, '0')}`,
        givenName,
        familyName,
        searchGiven: foldForSearch(givenName),
        searchFamily: foldForSearch(familyName),
        birthDate: faker.date.birthdate({ mode: 'age', min: 0, max: 95, refDate: today }).toISOString().slice(0, 10),
        sex,
        phone,
        phoneDigits: phoneDigits(phone),
        email:
          faker.number.int({ min: 1, max: 3 }) === 1
            ? faker.internet
                .email({ firstName: givenName, lastName: familyName, provider: 'example.test' })
                .toLowerCase()
            : null,
        address: {
          line1: faker.location.streetAddress(),
          city: faker.location.city(),
          postalCode: faker.location.zipCode(),
          country: faker.location.countryCode(),
        },
        emergencyContact: {
          name: faker.person.fullName(),
          relationship: faker.helpers.arrayElement(['spouse', 'parent', 'child', 'sibling', 'friend']),
          phone: faker.phone.number({ style: 'international' }),
        },
        allergies,
        primaryHospitalId: hospitalId,
      };
    });
    await insertAll(patientRows, (chunk) => tx.insert(patients).values(chunk));
    for (const patient of patientRows.slice(0, ORDER_PATIENTS - orderPatients.length)) orderPatients.push(patient);
    const sampled = new Set(orderPatients.map((patient) => patient.id));

    // History: most patients had a visit (completed, with an encounter), some missed one, some are booked.
    const visits: (typeof appointments.$inferInsert)[] = [];
    const encounterRows: (typeof encounters.$inferInsert)[] = [];
    const noteRows: (typeof notes.$inferInsert)[] = [];
    const versionRows: (typeof noteVersions.$inferInsert)[] = [];
    const diagnosisRows: (typeof diagnoses.$inferInsert)[] = [];
    const vitalRows: (typeof vitals.$inferInsert)[] = [];
    for (const patient of patientRows) {
      const past = f.number.int({ min: 0, max: 2 });
      for (let v = 0; v < past; v++) {
        pastSlot++;
        const startsAt = new Date(now.getTime() - 24 * 3600_000 - pastSlot * SLOT_MS);
        const status = f.helpers.weightedArrayElement([
          { value: 'completed', weight: 85 },
          { value: 'no-show', weight: 10 },
          { value: 'cancelled', weight: 5 },
        ]);
        const appointmentId = randomUUID();
        visits.push({
          id: appointmentId,
          organizationId: org,
          patientId: patient.id,
          practitionerId: staff.doctor,
          hospitalId,
          roomId: clinicRooms[pastSlot % clinicRooms.length]!.id,
          startsAt,
          endsAt: new Date(startsAt.getTime() + SLOT_MS),
          reason: f.helpers.arrayElement(REASONS),
          status,
          cancelReason: status === 'cancelled' ? 'Patient asked to move it' : null,
          createdAt: new Date(startsAt.getTime() - 7 * 24 * 3600_000),
        });
        if (status !== 'completed') continue;
        const encounterId = randomUUID();
        const signedAt = new Date(startsAt.getTime() + SLOT_MS);
        encounterRows.push({
          id: encounterId,
          organizationId: org,
          patientId: patient.id,
          appointmentId,
          hospitalId,
          openedBy: staff.doctor,
          status: 'signed',
          signedAt,
          signedBy: staff.doctor,
          createdAt: startsAt,
        });
        if (sampled.has(patient.id)) orderEncounters.push({ id: encounterId, patientId: patient.id, at: signedAt });
        const noteId = randomUUID();
        noteRows.push({
          id: noteId,
          organizationId: org,
          encounterId,
          patientId: patient.id,
          authorId: staff.doctor,
          currentVersion: 1,
          signedAt,
          signedBy: staff.doctor,
          createdAt: startsAt,
        });
        versionRows.push({
          organizationId: org,
          noteId,
          version: 1,
          authorId: staff.doctor,
          body: `Synthetic note: ${f.lorem.sentences(2)}`,
          createdAt: startsAt,
        });
        const [code, text] = f.helpers.arrayElement(DIAGNOSES);
        diagnosisRows.push({
          organizationId: org,
          encounterId,
          patientId: patient.id,
          code,
          text,
          primary: true,
          recordedBy: staff.doctor,
          createdAt: startsAt,
        });
        const recordedAt = new Date(startsAt.getTime() + 5 * 60_000);
        const measured = {
          organizationId: org,
          encounterId,
          patientId: patient.id,
          recordedAt,
          recordedBy: staff.nurse,
        };
        vitalRows.push(
          { ...measured, type: 'heart-rate', value: f.number.int({ min: 55, max: 105 }), unit: 'bpm' },
          {
            ...measured,
            type: 'blood-pressure',
            value: f.number.int({ min: 100, max: 160 }),
            secondaryValue: f.number.int({ min: 60, max: 100 }),
            unit: 'mmHg',
          },
          {
            ...measured,
            type: 'temperature',
            value: f.number.float({ min: 36, max: 38.5, fractionDigits: 1 }),
            unit: '°C',
          },
          { ...measured, type: 'spo2', value: f.number.int({ min: 93, max: 100 }), unit: '%' },
        );
      }
      if (f.number.int({ min: 1, max: 10 }) <= 2) {
        futureSlot++;
        const startsAt = new Date(Math.ceil(now.getTime() / SLOT_MS) * SLOT_MS + 3600_000 + futureSlot * SLOT_MS);
        visits.push({
          organizationId: org,
          patientId: patient.id,
          practitionerId: staff.doctor,
          hospitalId,
          roomId: clinicRooms[futureSlot % clinicRooms.length]!.id,
          startsAt,
          endsAt: new Date(startsAt.getTime() + SLOT_MS),
          reason: f.helpers.arrayElement(REASONS),
          status: 'booked',
        });
      }
    }
    await insertAll(visits, (chunk) => tx.insert(appointments).values(chunk));
    await insertAll(encounterRows, (chunk) => tx.insert(encounters).values(chunk));
    await insertAll(noteRows, (chunk) => tx.insert(notes).values(chunk));
    await insertAll(versionRows, (chunk) => tx.insert(noteVersions).values(chunk));
    await insertAll(diagnosisRows, (chunk) => tx.insert(diagnoses).values(chunk));
    await insertAll(vitalRows, (chunk) => tx.insert(vitals).values(chunk));
    summary.patients += count;
    summary.appointments += visits.length;
    summary.encounters += encounterRows.length;
    summary.vitals += vitalRows.length;
    seed.onProgress?.(summary.patients, seed.patients);
  }
  await tx.insert(organizationCounters).values({ organizationId: org, name: 'mrn', value: seed.patients });
  const orders = await seedOrdersData(tx, {
    organizationId: org,
    hospitalId,
    staff,
    patients: orderPatients,
    encounters: orderEncounters,
    faker: f,
    now,
  });
  await appendAuditEvents(tx, [
    {
      organizationId: org,
      occurredAt: now,
      actorType: 'system',
      actorId: null,
      actorRole: null,
      action: 'seed.synthetic-data',
      resourceType: 'organization',
      resourceId: org,
      patientId: null,
      patientIds: null,
      outcome: 'success',
      ip: null,
      userAgent: null,
      requestId: null,
    },
  ]);
  return { ...summary, orders };
}
