import { describe, expect, it } from 'vitest';
import { conflictingAllergies, substanceMatches } from './allergy-match.js';

describe('substanceMatches', () => {
  it.each([
    ['Penicillin', 'penicillin'],
    ['PENICILLIN', 'Penicillin V potassium'],
    ['penicillins', 'penicillin'],
    ['Sulfa', 'sulfamethoxazole'],
    ['Sulfonamides', 'sulfonamide'],
    ['Codéine', 'codeine phosphate'],
    ['ibuprofen 400 mg', 'Ibuprofen'],
    ['Acetylsalicylic acid', 'acetylsalicylic acid'],
  ])('%s matches %s', (allergy, name) => {
    expect(substanceMatches(allergy, name)).toBe(true);
  });

  it.each([
    ['Penicillin', 'Amoxicillin'],
    ['Penicillin', 'Penicillamine'],
    ['Latex', 'Lactulose'],
    ['Egg', 'eggplant extract'],
    ['', 'anything'],
    ['Sodium lauryl sulfate', 'amoxicillin sodium'],
  ])('%s does not match %s', (allergy, name) => {
    expect(substanceMatches(allergy, name)).toBe(false);
  });

  it('checks the name and every ingredient, and returns the allergies that match', () => {
    const allergies = [
      { substance: 'Penicillin', severity: 'severe' },
      { substance: 'Peanuts' },
      { substance: 'amoxicillin' },
    ];
    expect(
      conflictingAllergies(allergies, { name: 'Amoxil 500 mg', ingredients: ['amoxicillin', 'penicillin'] }),
    ).toEqual([{ substance: 'Penicillin', severity: 'severe' }, { substance: 'amoxicillin' }]);
    expect(conflictingAllergies(allergies, { name: 'Paracetamol', ingredients: [] })).toEqual([]);
  });
});
