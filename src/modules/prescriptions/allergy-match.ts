/**
 * Whether a recorded allergy concerns a medication: the allergy's substance against the medication's
 * name and each of its ingredients (which should list drug classes too: "penicillin" for amoxicillin).
 * Both sides are folded (case, accents) and cut into words; they match when the words of one appear,
 * in order and next to each other, among the words of the other, a word matching a word it equals or,
 * for words of 4 letters or more, one it begins ("sulfa" and "sulfamethoxazole", "penicillins" and
 * "penicillin"). It errs on the side of asking: a prescriber may override with a reason.
 */
export interface AllergyLike {
  substance: string;
  severity?: string;
}

const MIN_PREFIX = 4;

function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  // A plural "s" is a letter more: "penicillins" against "penicillin".
  return short.length >= MIN_PREFIX && long.startsWith(short);
}

/** `part`'s words in order, next to each other, among `whole`'s. */
function within(part: string[], whole: string[]): boolean {
  if (part.length === 0 || part.length > whole.length) return false;
  for (let start = 0; start + part.length <= whole.length; start++) {
    if (part.every((word, i) => sameWord(word, whole[start + i]!))) return true;
  }
  return false;
}

/** Whether `substance` (an allergy) and `name` (a medication's name or ingredient) are the same thing. */
export function substanceMatches(substance: string, name: string): boolean {
  const a = words(substance);
  const b = words(name);
  return within(a, b) || within(b, a);
}

/** The allergies among `allergies` that concern a medication with this name and these ingredients. */
export function conflictingAllergies<A extends AllergyLike>(
  allergies: readonly A[],
  medication: { name: string; ingredients: readonly string[] },
): A[] {
  const names = [medication.name, ...medication.ingredients];
  return allergies.filter((allergy) => names.some((name) => substanceMatches(allergy.substance, name)));
}
