/** Every table Wardline owns; drizzle-kit generates migrations from this module. */
export * from '../auth/auth.schema.js';
