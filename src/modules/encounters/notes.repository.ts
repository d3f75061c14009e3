import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { TenantRepository } from '../../platform/db/tenant-repository.js';
import { notes, noteVersions } from './encounters.schema.js';

const noteColumns = {
  id: notes.id,
  encounterId: notes.encounterId,
  patientId: notes.patientId,
  authorId: notes.authorId,
  version: notes.currentVersion,
  body: noteVersions.body,
  createdAt: notes.createdAt,
  updatedAt: notes.updatedAt,
  signedAt: notes.signedAt,
  signedBy: notes.signedBy,
};

/** A note with the text of its current version. */
export interface NoteRow {
  id: string;
  encounterId: string;
  patientId: string;
  authorId: string;
  version: number;
  body: string;
  createdAt: Date;
  updatedAt: Date;
  signedAt: Date | null;
  signedBy: string | null;
}

export type NoteVersionRow = typeof noteVersions.$inferSelect;

/** All SQL on clinical notes and their append-only versions. */
export class NotesRepository extends TenantRepository {
  private current() {
    return this.db
      .select(noteColumns)
      .from(notes)
      .innerJoin(
        noteVersions,
        and(
          eq(noteVersions.organizationId, notes.organizationId),
          eq(noteVersions.noteId, notes.id),
          eq(noteVersions.version, notes.currentVersion),
        ),
      );
  }

  /**
   * A new note (its row as the service made it, version 1): the note and its first version, sent in
   * order without waiting for an answer; the promise settles when both are answered (for
   * `work.answerAtCommit`).
   */
  insert(row: NoteRow): Promise<unknown> {
    const { body, version, ...note } = row;
    // `execute()` sends each now, in this order (a drizzle query left to `Promise.all` would be sent a
    // microtask later, after anything the caller sends meanwhile).
    return Promise.all([
      this.db
        .insert(notes)
        .values(this.owned({ ...note, currentVersion: version }))
        .execute(),
      this.insertVersion({ noteId: row.id, version, body, authorId: row.authorId, reason: null, at: row.createdAt }),
    ]);
  }

  /** A version of a note, sent at once (`execute()`): awaited, or given to `work.answerAtCommit`. */
  insertVersion(values: {
    noteId: string;
    version: number;
    body: string;
    authorId: string;
    reason: string | null;
    at: Date;
  }): Promise<unknown> {
    const { at, ...rest } = values;
    return this.db
      .insert(noteVersions)
      .values(this.owned({ ...rest, createdAt: at, updatedAt: at }))
      .execute();
  }

  /** One note; `lock` holds its row (FOR UPDATE) so amendments and signing take turns. */
  async find(id: string, lock = false): Promise<NoteRow | undefined> {
    const query = this.current().where(this.where(notes, eq(notes.id, id)));
    const [row] = lock ? await query.for('update', { of: notes }) : await query;
    return row;
  }

  ofEncounter(encounterId: string): Promise<NoteRow[]> {
    return this.current()
      .where(this.where(notes, eq(notes.encounterId, encounterId)))
      .orderBy(asc(notes.createdAt), asc(notes.id));
  }

  async setCurrentVersion(id: string, version: number, at: Date): Promise<void> {
    await this.db
      .update(notes)
      .set({ currentVersion: version, updatedAt: at })
      .where(this.where(notes, eq(notes.id, id)));
  }

  async sign(id: string, by: string, at: Date): Promise<void> {
    await this.db
      .update(notes)
      .set({ signedAt: at, signedBy: by })
      .where(this.where(notes, eq(notes.id, id), isNull(notes.signedAt)));
  }

  /** Signs every note of the encounter not signed yet; returns their ids and patients, for the trail. */
  signAllOf(encounterId: string, by: string, at: Date): Promise<{ id: string }[]> {
    return this.db
      .update(notes)
      .set({ signedAt: at, signedBy: by })
      .where(this.where(notes, eq(notes.encounterId, encounterId), isNull(notes.signedAt)))
      .returning({ id: notes.id });
  }

  /** Versions in order, `limit + 1` of them after `afterVersion`. */
  versions(noteId: string, limit: number, afterVersion: number): Promise<NoteVersionRow[]> {
    return this.db
      .select()
      .from(noteVersions)
      .where(this.where(noteVersions, eq(noteVersions.noteId, noteId), gt(noteVersions.version, afterVersion)))
      .orderBy(asc(noteVersions.version))
      .limit(limit + 1);
  }
}
