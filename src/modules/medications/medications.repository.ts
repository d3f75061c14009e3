import { asc, eq, ilike, or } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { medications } from './medications.schema.js';

export type MedicationRow = typeof medications.$inferSelect;
type MedicationValues = Pick<
  MedicationRow,
  'name' | 'form' | 'strength' | 'code' | 'ingredients' | 'requiresPriorAuth' | 'active'
>;

/** `%` and `_` taken literally in a LIKE pattern. */
const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** All SQL on the medication catalog. */
export class MedicationsRepository extends TenantRepository {
  async insert(values: MedicationValues & { at: Date }): Promise<MedicationRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(medications)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  async find(id: string, lock = false): Promise<MedicationRow | undefined> {
    const query = this.db
      .select()
      .from(medications)
      .where(this.where(medications, eq(medications.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  async update(id: string, patch: Partial<MedicationValues> & { updatedAt: Date }): Promise<MedicationRow> {
    const [row] = await this.db
      .update(medications)
      .set(patch)
      .where(this.where(medications, eq(medications.id, id)))
      .returning();
    return row!;
  }

  list(filter: { q?: string; active?: boolean }, limit: number, cursor: Cursor | undefined): Promise<MedicationRow[]> {
    const pattern = filter.q === undefined ? undefined : `%${literal(filter.q)}%`;
    return this.db
      .select()
      .from(medications)
      .where(
        this.where(
          medications,
          pattern ? or(ilike(medications.name, pattern), ilike(medications.code, pattern)) : undefined,
          filter.active === undefined ? undefined : eq(medications.active, filter.active),
          afterCursor(medications.createdAt, medications.id, cursor),
        ),
      )
      .orderBy(asc(medications.createdAt), asc(medications.id))
      .limit(limit + 1);
  }
}
