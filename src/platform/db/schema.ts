/** Every table Wardline owns, for drizzle's typed queries (drizzle-kit reads the *.schema.ts files directly). */
export * from '../audit/audit.schema.js';
export * from '../auth/auth.schema.js';
export * from '../outbox/outbox.schema.js';
export * from './counters.schema.js';
export * from '../../modules/appointments/appointments.schema.js';
export * from '../../modules/encounters/encounters.schema.js';
export * from '../../modules/hospitals/hospitals.schema.js';
export * from '../../modules/patients/patients.schema.js';
export * from '../../modules/staff/staff.schema.js';
export * from '../../modules/billing/billing.schema.js';
export * from '../../modules/insurance/insurance.schema.js';
export * from '../../modules/labs/labs.schema.js';
export * from '../../modules/medications/medications.schema.js';
export * from '../../modules/pharmacy/pharmacy.schema.js';
export * from '../../modules/prescriptions/prescriptions.schema.js';
