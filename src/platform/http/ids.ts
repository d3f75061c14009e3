import { z } from 'zod';

/** A record id as Wardline and Better Auth generate them (UUIDs); anything else is refused before any query. */
export const RecordId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'is not a valid id')
  .meta({ example: '0b7f3f4e-8a1d-4c52-9a57-1f6d2f0e9c11' });

/** Path parameters of a route on one record. */
export const IdParams = z.object({ id: RecordId });
