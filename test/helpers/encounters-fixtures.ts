/**
 * Records the encounters tests need, inserted directly with drizzle: patients and appointments (so
 * the encounters tests depend on no other module's routes).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { appointments } from '../../src/modules/appointments/appointments.schema.js';
import { foldForSearch } from '../../src/modules/patients/patient-names.js';
import { patients } from '../../src/modules/patients/patients.schema.js';
import type { Tenant } from './test-app.js';

export async function insertPatient(app: FastifyInstance, tenant: Tenant, status = 'active'): Promise<string> {
  const given = 'Zoë';
  const family = `Encounter-${randomUUID().slice(0, 8)}`;
  const [row] = await app.database.db
    .insert(patients)
    .values({
      organizationId: tenant.organizationId,
      mrn: `MRN-${randomUUID().slice(0, 12)}`,
      givenName: given,
      familyName: family,
      searchGiven: foldForSearch(given),
      searchFamily: foldForSearch(family),
      birthDate: '1975-09-30',
      sex: 'female',
      status,
    })
    .returning({ id: patients.id });
  return row!.id;
}

let slot = 0;

/** An appointment with the tenant's doctor, in `status`, each in its own hour (they never overlap). */
export async function insertAppointment(
  app: FastifyInstance,
  tenant: Tenant,
  patientId: string,
  status: string,
): Promise<string> {
  const startsAt = new Date(Date.UTC(2026, 0, 1) + slot++ * 3_600_000);
  const [row] = await app.database.db
    .insert(appointments)
    .values({
      organizationId: tenant.organizationId,
      patientId,
      practitionerId: tenant.users.doctor.id,
      startsAt,
      endsAt: new Date(startsAt.getTime() + 1_800_000),
      status,
    })
    .returning({ id: appointments.id });
  return row!.id;
}
