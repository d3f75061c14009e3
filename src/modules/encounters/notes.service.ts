import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import type { PageQuery } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { openEncounterFor } from './open-encounter.js';
import type { Note, NoteVersion } from './encounters.shapes.js';
import { type NoteRow, NotesRepository, type NoteVersionRow } from './notes.repository.js';

export const toNote = (row: NoteRow): Note => ({ ...row });

const toVersion = (row: NoteVersionRow): NoteVersion => ({
  version: row.version,
  body: row.body,
  authorId: row.authorId,
  reason: row.reason,
  createdAt: row.createdAt,
});

// Versions are numbered 1, 2, ...: the cursor is the last version of a page, opaque like the others.
function encodeVersionCursor(version: number): string {
  return Buffer.from(JSON.stringify(['version', version])).toString('base64url');
}

function decodeVersionCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed[0] === 'version' && Number.isSafeInteger(parsed[1]) && parsed[1] > 0) {
      return parsed[1] as number;
    }
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_FAILED', 'the cursor is not valid', [
    { path: 'querystring.cursor', message: 'malformed cursor' },
  ]);
}

/**
 * Clinical notes as append-only versions: an amendment adds a version and keeps every earlier one;
 * a signed note (or any note of a signed encounter) is frozen. Bodies never reach logs or errors.
 */
export class NotesService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly now: Clock,
  ) {}

  /** A new note on an open encounter: version 1, by the caller. */
  create(ctx: TenantContext, encounterId: string, body: string): Promise<Note> {
    return this.uow.write(ctx, async (work) => {
      const encounter = await openEncounterFor(work, encounterId, 'notes');
      // The row is made here (its id too), so nothing waits for the inserts: they go with the COMMIT.
      const at = this.now();
      const row: NoteRow = {
        id: randomUUID(),
        encounterId,
        patientId: encounter.patientId,
        authorId: ctx.user.id,
        version: 1,
        body,
        createdAt: at,
        updatedAt: at,
        signedAt: null,
        signedBy: null,
      };
      work.answerAtCommit(work.repo(NotesRepository).insert(row));
      work.audit({ action: 'notes.create', resourceType: 'note', resourceId: row.id, patientId: row.patientId });
      return toNote(row);
    });
  }

  /** Adds a version to an unsigned note; only its author or a doctor may. */
  amend(ctx: TenantContext, noteId: string, input: { body: string; reason: string }): Promise<Note> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(NotesRepository);
      const note = await this.lockedNote(work, noteId);
      if (note.authorId !== ctx.user.id && ctx.role !== 'doctor') {
        throw new AppError('FORBIDDEN', "only the note's author or a doctor may amend it");
      }
      if (note.signedAt) throw new AppError('CONFLICT', 'the note is signed: a signed note cannot be amended');
      const at = this.now();
      const version = note.version + 1;
      await repo.insertVersion({ noteId, version, body: input.body, authorId: ctx.user.id, reason: input.reason, at });
      await repo.setCurrentVersion(noteId, version, at);
      work.audit({ action: 'notes.amend', resourceType: 'note', resourceId: noteId, patientId: note.patientId });
      return toNote({ ...note, version, body: input.body, updatedAt: at });
    });
  }

  /** Signs a note, freezing it. */
  sign(ctx: TenantContext, noteId: string): Promise<Note> {
    return this.uow.write(ctx, async (work) => {
      const note = await this.lockedNote(work, noteId);
      if (note.signedAt) throw new AppError('CONFLICT', 'the note is already signed');
      const at = this.now();
      await work.repo(NotesRepository).sign(noteId, ctx.user.id, at);
      work.audit({ action: 'notes.sign', resourceType: 'note', resourceId: noteId, patientId: note.patientId });
      return toNote({ ...note, signedAt: at, signedBy: ctx.user.id });
    });
  }

  /** One note with its current version. */
  get(ctx: TenantContext, noteId: string): Promise<Note> {
    return this.uow.read(ctx, async (work) => {
      const note = await work.repo(NotesRepository).find(noteId);
      if (!note) throw new AppError('NOT_FOUND', 'note not found');
      work.audit({ action: 'notes.read', resourceType: 'note', resourceId: noteId, patientId: note.patientId });
      return toNote(note);
    });
  }

  /** Every version of a note, oldest first. */
  versions(ctx: TenantContext, noteId: string, page: PageQuery) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(NotesRepository);
      const note = await repo.find(noteId);
      if (!note) throw new AppError('NOT_FOUND', 'note not found');
      const rows = await repo.versions(noteId, page.limit, decodeVersionCursor(page.cursor));
      work.audit({ action: 'notes.versions', resourceType: 'note', resourceId: noteId, patientId: note.patientId });
      const hasMore = rows.length > page.limit;
      const data = (hasMore ? rows.slice(0, page.limit) : rows).map(toVersion);
      return { data, nextCursor: hasMore ? encodeVersionCursor(data.at(-1)!.version) : null };
    });
  }

  private async lockedNote(work: Work, noteId: string): Promise<NoteRow> {
    const note = await work.repo(NotesRepository).find(noteId, true);
    if (!note) throw new AppError('NOT_FOUND', 'note not found');
    return note;
  }
}
