import type { Work } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { type EncounterRow, EncountersRepository } from './encounters.repository.js';

/**
 * An encounter for a write on it: locked until the transaction ends (so it cannot be signed
 * half-way), of the caller's organization (else 404) and still open (else 409).
 */
export async function openEncounterFor(work: Work, id: string, adding: string): Promise<EncounterRow> {
  const encounter = await work.repo(EncountersRepository).find(id, true);
  if (!encounter) throw new AppError('NOT_FOUND', 'encounter not found');
  if (encounter.status !== 'open') {
    throw new AppError('CONFLICT', `the encounter is ${encounter.status} (closed): it accepts no more ${adding}`);
  }
  return encounter;
}
