/**
 * Records the appointments tests book against, inserted directly with drizzle: patients, and a
 * hospital with units and rooms (written here rather than through routes, so the appointments tests
 * depend on no other module's routes).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { members } from '../../src/platform/auth/auth.schema.js';
import { insertPasswordAccounts } from '../../src/platform/auth/first-admin.js';
import { hospitals, rooms, units } from '../../src/modules/hospitals/hospitals.schema.js';
import { foldForSearch } from '../../src/modules/patients/patient-names.js';
import { patients } from '../../src/modules/patients/patients.schema.js';
import type { Tenant } from './test-app.js';

export interface Clinic {
  hospitalId: string;
  /** A unit with two rooms that take bookings and one deactivated room. */
  unitId: string;
  roomIds: [string, string];
  inactiveRoomId: string;
  /** Another unit of the same hospital, with one room. */
  otherUnitId: string;
  otherRoomId: string;
  /** Active patients. */
  patientIds: string[];
  archivedPatientId: string;
}

async function insertPatient(app: FastifyInstance, organizationId: string, status = 'active'): Promise<string> {
  const given = 'Zoë';
  const family = `Test-${randomUUID().slice(0, 8)}`;
  const [row] = await app.database.db
    .insert(patients)
    .values({
      organizationId,
      mrn: `MRN-${randomUUID().slice(0, 12)}`,
      givenName: given,
      familyName: family,
      searchGiven: foldForSearch(given),
      searchFamily: foldForSearch(family),
      birthDate: '1980-04-12',
      sex: 'female',
      status,
    })
    .returning({ id: patients.id });
  return row!.id;
}

/** A hospital in `timezone` with two units and their rooms, and `patientCount` patients plus an archived one. */
export async function seedClinic(
  app: FastifyInstance,
  tenant: Tenant,
  options: { timezone?: string; patientCount?: number } = {},
): Promise<Clinic> {
  const db = app.database.db;
  const organizationId = tenant.organizationId;
  const [hospital] = await db
    .insert(hospitals)
    .values({ organizationId, name: 'General', timezone: options.timezone ?? 'UTC' })
    .returning({ id: hospitals.id });
  const hospitalId = hospital!.id;
  const [unit, otherUnit] = await db
    .insert(units)
    .values([
      { organizationId, hospitalId, name: 'Outpatients' },
      { organizationId, hospitalId, name: 'Radiology' },
    ])
    .returning({ id: units.id });
  const made = await db
    .insert(rooms)
    .values([
      { organizationId, hospitalId, unitId: unit!.id, name: 'Room 1' },
      { organizationId, hospitalId, unitId: unit!.id, name: 'Room 2' },
      { organizationId, hospitalId, unitId: unit!.id, name: 'Room 3 (closed)', active: false },
      { organizationId, hospitalId, unitId: otherUnit!.id, name: 'Scanner' },
    ])
    .returning({ id: rooms.id });
  const patientIds: string[] = [];
  for (let i = 0; i < (options.patientCount ?? 3); i++) patientIds.push(await insertPatient(app, organizationId));
  return {
    hospitalId,
    unitId: unit!.id,
    roomIds: [made[0]!.id, made[1]!.id],
    inactiveRoomId: made[2]!.id,
    otherUnitId: otherUnit!.id,
    otherRoomId: made[3]!.id,
    patientIds,
    archivedPatientId: await insertPatient(app, organizationId, 'archived'),
  };
}

/** `count` more doctors in the tenant (members who never sign in: practitioners to book with). */
export async function addDoctors(app: FastifyInstance, tenant: Tenant, count: number): Promise<string[]> {
  const label = randomUUID().slice(0, 8);
  const people = Array.from({ length: count }, (_, i) => ({
    email: `doctor-${i}.${label}@example.test`,
    name: `Extra Doctor ${i}`,
    passwordHash: 'not-a-real-hash',
  }));
  const ids = [...(await insertPasswordAccounts(app.database.db, people)).values()];
  await app.database.db
    .insert(members)
    .values(ids.map((userId) => ({ organizationId: tenant.organizationId, userId, role: 'doctor' })));
  return ids;
}
