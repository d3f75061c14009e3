import { z } from 'zod';

/**
 * Characters that change how text around them is shown rather than being shown: controls (NUL, line
 * breaks, escapes), line and paragraph separators, and bidirectional overrides and isolates, with
 * which "Riverside" can be made to display as another name (CVE-2021-42574, "Trojan Source").
 * Joiners (U+200C, U+200D) stay: several scripts and emoji need them.
 */
const HIDDEN = /[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** A single line of text a person reads (a name, a title), trimmed, between `min` and `max` characters. */
export function plainText(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((value) => !HIDDEN.test(value), 'must not contain control or bidirectional formatting characters');
}
