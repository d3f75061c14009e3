/**
 * Records the medications, prescriptions and pharmacy tests need: patients with allergies and
 * encounters inserted directly (no other module's routes), medications and prescriptions through the
 * routes under test.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { encounters } from '../../src/modules/encounters/encounters.schema.js';
import { foldForSearch } from '../../src/modules/patients/patient-names.js';
import { patients } from '../../src/modules/patients/patients.schema.js';
import { as, type Tenant } from './test-app.js';

export interface AllergyFixture {
  substance: string;
  reaction?: string;
  severity?: 'mild' | 'moderate' | 'severe' | 'life-threatening';
}

export async function insertPatientWithAllergies(
  app: FastifyInstance,
  tenant: Tenant,
  allergies: AllergyFixture[] = [],
  status = 'active',
): Promise<string> {
  const given = 'Ada';
  const family = `Meds-${randomUUID().slice(0, 8)}`;
  const [row] = await app.database.db
    .insert(patients)
    .values({
      organizationId: tenant.organizationId,
      mrn: `MRN-${randomUUID().slice(0, 12)}`,
      givenName: given,
      familyName: family,
      searchGiven: foldForSearch(given),
      searchFamily: foldForSearch(family),
      birthDate: '1968-04-12',
      sex: 'female',
      allergies,
      status,
    })
    .returning({ id: patients.id });
  return row!.id;
}

export async function insertEncounter(
  app: FastifyInstance,
  tenant: Tenant,
  patientId: string,
  status = 'open',
): Promise<string> {
  const [row] = await app.database.db
    .insert(encounters)
    .values({ organizationId: tenant.organizationId, patientId, openedBy: tenant.users.doctor.id, status })
    .returning({ id: encounters.id });
  return row!.id;
}

let codes = 0;

/** A medication of the tenant's catalog, added by its admin. */
export async function createMedication(
  app: FastifyInstance,
  tenant: Tenant,
  body: Record<string, unknown> = {},
): Promise<{ id: string; code: string; name: string }> {
  const res = await as(
    app,
    tenant.users.admin.token,
  )({
    method: 'POST',
    url: '/api/v1/medications',
    payload: {
      name: 'Paracetamol',
      form: 'tablet',
      strength: '500 mg',
      code: `MED-${process.pid}-${++codes}-${randomUUID().slice(0, 6)}`,
      ...body,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** A prescription written by the tenant's doctor. */
export async function createPrescription(
  app: FastifyInstance,
  tenant: Tenant,
  body: { patientId: string; medicationId: string } & Record<string, unknown>,
): Promise<{ id: string; status: string; patientId: string; dispensedQuantity: number }> {
  const res = await as(
    app,
    tenant.users.doctor.token,
  )({
    method: 'POST',
    url: '/api/v1/prescriptions',
    payload: {
      dose: '1 tablet',
      route: 'oral',
      frequency: 'every 8 hours',
      durationDays: 7,
      quantity: 21,
      refills: 0,
      ...body,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
