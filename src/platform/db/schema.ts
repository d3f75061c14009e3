/** Every table Wardline owns, for drizzle's typed queries (drizzle-kit reads the *.schema.ts files directly). */
export * from '../audit/audit.schema.js';
export * from '../auth/auth.schema.js';
export * from '../outbox/outbox.schema.js';
export * from '../../modules/appointments/appointments.schema.js';
export * from '../../modules/encounters/encounters.schema.js';
export * from '../../modules/hospitals/hospitals.schema.js';
export * from '../../modules/patients/patients.schema.js';
export * from '../../modules/staff/staff.schema.js';
