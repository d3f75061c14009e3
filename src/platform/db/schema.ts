/** Every table Wardline owns, for drizzle's typed queries (drizzle-kit reads the *.schema.ts files directly). */
export * from '../audit/audit.schema.js';
export * from '../auth/auth.schema.js';
export * from '../outbox/outbox.schema.js';
