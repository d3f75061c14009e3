import { sql } from 'drizzle-orm';
import { date, jsonb, text } from 'drizzle-orm/pg-core';
import { tenantIndex, tenantReference, tenantTable } from '../../platform/db/tenant-table.js';
import { hospitals } from '../hospitals/hospitals.schema.js';

export interface Address {
  line1: string;
  line2?: string;
  city: string;
  postalCode?: string;
  region?: string;
  country: string;
}
export interface EmergencyContact {
  name: string;
  relationship?: string;
  phone: string;
}
export interface Allergy {
  substance: string;
  reaction?: string;
  severity?: 'mild' | 'moderate' | 'severe' | 'life-threatening';
}

/**
 * Patients. `search_given` and `search_family` hold the names folded for search (lower case, accents
 * removed: "José" is "jose"), in the C collation so that a prefix LIKE and the sort order both use
 * their indexes; `phone_digits` holds the phone's digits only. Archived, never deleted.
 */
export const patients = tenantTable(
  'patients',
  {
    mrn: text('mrn').notNull(),
    givenName: text('given_name').notNull(),
    familyName: text('family_name').notNull(),
    searchGiven: text('search_given').notNull(),
    searchFamily: text('search_family').notNull(),
    birthDate: date('birth_date', { mode: 'string' }).notNull(),
    sex: text('sex').notNull(),
    phone: text('phone'),
    phoneDigits: text('phone_digits'),
    email: text('email'),
    address: jsonb('address').$type<Address>(),
    emergencyContact: jsonb('emergency_contact').$type<EmergencyContact>(),
    allergies: jsonb('allergies').$type<Allergy[]>().notNull().default([]),
    primaryHospitalId: text('primary_hospital_id'),
    status: text('status').notNull().default('active'),
  },
  (t) => [
    tenantIndex('patients_mrn_idx').unique().on(t.mrn),
    tenantIndex('patients_family_name_idx').on(
      t.status,
      sql`${t.searchFamily} collate "C"`,
      sql`${t.searchGiven} collate "C"`,
      t.id,
    ),
    // A given name's first three characters, then the family index's order: the patients whose given
    // name starts with a prefix of three characters or more come out in name order (family, given,
    // id), so a search's given-name branch reads its first rows and stops, as the family one does.
    tenantIndex('patients_given_name_idx').on(
      t.status,
      sql`left(${t.searchGiven}, 3) collate "C"`,
      sql`${t.searchFamily} collate "C"`,
      sql`${t.searchGiven} collate "C"`,
      t.id,
    ),
    tenantIndex('patients_birth_date_idx').on(t.birthDate),
    tenantIndex('patients_phone_idx').on(t.phoneDigits),
    tenantIndex('patients_primary_hospital_idx').on(t.primaryHospitalId, t.status),
    tenantReference('patients_primary_hospital_fk', t.primaryHospitalId, () => hospitals),
  ],
);
