import { z } from 'zod';

/**
 * A point in time a client sends: ISO 8601 with an offset, in the years 1900 to 2199. Outside them
 * nothing clinical happens, and the database drivers read years below 100 back as 19xx or 20xx
 * (JavaScript's Date parsing of two-digit years), so such a value would not come back as stored.
 */
export const Instant = z.iso.datetime({ offset: true }).refine((value) => {
  const year = new Date(value).getUTCFullYear();
  return year >= 1900 && year <= 2199;
}, 'must be between the years 1900 and 2199');
