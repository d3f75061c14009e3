/**
 * A name folded for search: Unicode-normalized, accents removed, lower case, inner whitespace
 * collapsed. "José" and "JOSE" both become "jose"; stored in patients.search_given/search_family and
 * applied to the query, so a prefix search is accent- and case-insensitive and still uses an index.
 */
export function foldForSearch(name: string): string {
  return name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Only the digits of a phone number, for search ("+1 (555) 010-2030" is "15550102030"). */
export function phoneDigits(phone: string): string {
  return phone.replace(/\D/g, '');
}
