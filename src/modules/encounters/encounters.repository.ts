import { asc, eq } from 'drizzle-orm';
import { afterCursor } from '../../platform/db/keyset.js';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import type { Cursor } from '../../platform/http/pagination.js';
import { diagnoses, encounters, vitals } from './encounters.schema.js';
import type { EncounterStatus } from './encounters.shapes.js';
import type { CanonicalVital } from './vital-signs.js';

export type EncounterRow = typeof encounters.$inferSelect;
export type DiagnosisRow = typeof diagnoses.$inferSelect;
export type VitalRow = typeof vitals.$inferSelect;

export interface NewEncounter {
  patientId: string;
  appointmentId: string | null;
  hospitalId: string | null;
  openedBy: string;
  at: Date;
}

/** All SQL on encounters and what is recorded on them directly (diagnoses, vitals); notes are in notes.repository.ts. */
export class EncountersRepository extends TenantRepository {
  async insert(values: NewEncounter): Promise<EncounterRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(encounters)
      .values(this.owned({ ...rest, status: 'open', createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  /** One encounter; `lock` holds it (FOR UPDATE) until the transaction ends, so writes on it take turns with signing. */
  async find(id: string, lock = false): Promise<EncounterRow | undefined> {
    const query = this.db
      .select()
      .from(encounters)
      .where(this.where(encounters, eq(encounters.id, id)));
    const [row] = lock ? await query.for('update') : await query;
    return row;
  }

  list(
    filter: { patientId?: string; status?: EncounterStatus },
    limit: number,
    cursor: Cursor | undefined,
  ): Promise<EncounterRow[]> {
    return this.db
      .select()
      .from(encounters)
      .where(
        this.where(
          encounters,
          filter.patientId ? eq(encounters.patientId, filter.patientId) : undefined,
          filter.status ? eq(encounters.status, filter.status) : undefined,
          afterCursor(encounters.createdAt, encounters.id, cursor),
        ),
      )
      .orderBy(asc(encounters.createdAt), asc(encounters.id))
      .limit(limit + 1);
  }

  async sign(id: string, by: string, at: Date): Promise<EncounterRow> {
    const [row] = await this.db
      .update(encounters)
      .set({ status: 'signed', signedAt: at, signedBy: by, updatedAt: at })
      .where(this.where(encounters, eq(encounters.id, id), eq(encounters.status, 'open')))
      .returning();
    return row!;
  }

  async hasOpenedFor(userId: string, patientId: string): Promise<boolean> {
    const [row] = await this.db
      .select({ id: encounters.id })
      .from(encounters)
      .where(this.where(encounters, eq(encounters.patientId, patientId), eq(encounters.openedBy, userId)))
      .limit(1);
    return row !== undefined;
  }

  /** Clears the encounter's primary diagnosis, if any, so that a new one can take its place. */
  async demotePrimary(encounterId: string, at: Date): Promise<void> {
    await this.db
      .update(diagnoses)
      .set({ primary: false, updatedAt: at })
      .where(this.where(diagnoses, eq(diagnoses.encounterId, encounterId), eq(diagnoses.primary, true)));
  }

  async insertDiagnosis(values: {
    encounterId: string;
    patientId: string;
    code: string;
    text: string;
    primary: boolean;
    recordedBy: string;
    at: Date;
  }): Promise<DiagnosisRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(diagnoses)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  diagnosesOf(encounterId: string): Promise<DiagnosisRow[]> {
    return this.db
      .select()
      .from(diagnoses)
      .where(this.where(diagnoses, eq(diagnoses.encounterId, encounterId)))
      .orderBy(asc(diagnoses.createdAt), asc(diagnoses.id));
  }

  async insertVital(
    values: CanonicalVital & { encounterId: string; patientId: string; recordedAt: Date; recordedBy: string; at: Date },
  ): Promise<VitalRow> {
    const { at, ...rest } = values;
    const [row] = await this.db
      .insert(vitals)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .returning();
    return row!;
  }

  /** A patient's measurements in the order they were taken, optionally of one type. */
  vitalsOfPatient(patientId: string, type: string | undefined, limit: number, cursor: Cursor | undefined) {
    return this.db
      .select()
      .from(vitals)
      .where(
        this.where(
          vitals,
          eq(vitals.patientId, patientId),
          type ? eq(vitals.type, type) : undefined,
          afterCursor(vitals.recordedAt, vitals.id, cursor),
        ),
      )
      .orderBy(asc(vitals.recordedAt), asc(vitals.id))
      .limit(limit + 1);
  }

  vitalsOf(encounterId: string): Promise<VitalRow[]> {
    return this.db
      .select()
      .from(vitals)
      .where(this.where(vitals, eq(vitals.encounterId, encounterId)))
      .orderBy(asc(vitals.recordedAt), asc(vitals.id));
  }
}
