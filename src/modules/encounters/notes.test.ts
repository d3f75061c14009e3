import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../platform/permissions.js';
import { auditEvents } from '../../platform/audit/audit.schema.js';
import { databaseError } from '../../platform/http/errors.js';
import { notes, noteVersions } from './encounters.schema.js';
import { insertPatient } from '../../../test/helpers/encounters-fixtures.js';
import {
  as,
  buildTestApp,
  type Tenant,
  createTenant,
  tenantContext,
  type TestApp,
} from '../../../test/helpers/test-app.js';

let t: TestApp;
let a: Tenant;
let encounterId: string;
let patientId: string;
const logs: string[] = [];

beforeAll(async () => {
  t = await buildTestApp({ LOG_LEVEL: 'info' }, { logStream: { write: (line) => logs.push(line) } });
  a = await createTenant(t.app);
  patientId = await insertPatient(t.app, a);
  const res = await call('doctor')({ method: 'POST', url: '/api/v1/encounters', payload: { patientId } });
  encounterId = res.json().id;
});
afterAll(() => t.close());

const call = (role: Role) => as(t.app, a.users[role].token);

async function write(role: Role, body: string) {
  const res = await call(role)({ method: 'POST', url: `/api/v1/encounters/${encounterId}/notes`, payload: { body } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; version: number; body: string; authorId: string }>();
}

const amend = (role: Role, noteId: string, body: string, reason = 'correction') =>
  call(role)({ method: 'POST', url: `/api/v1/notes/${noteId}/amend`, payload: { body, reason } });

describe('clinical notes', () => {
  it('creates version 1 by the caller, keeping line breaks', async () => {
    const note = await write('nurse', 'BP taken.\nPatient resting.');
    expect(note).toMatchObject({ version: 1, body: 'BP taken.\nPatient resting.', authorId: a.users.nurse.id });
    expect(note).toMatchObject({ encounterId, patientId, signedAt: null });
    // The answer is the note as the service made it, its inserts sent with the COMMIT: what is stored.
    const read = await call('nurse')({ method: 'GET', url: `/api/v1/notes/${note.id}` });
    expect(read.json()).toEqual(note);
  });

  it('refuses a note on an encounter of another organization, and stores nothing of it', async () => {
    const other = await createTenant(t.app);
    const res = await as(
      t.app,
      other.users.doctor.token,
    )({
      method: 'POST',
      url: `/api/v1/encounters/${encounterId}/notes`,
      payload: { body: 'Not yours.' },
    });
    expect(res.statusCode).toBe(404);
    const stored = await t.database.db
      .select({ n: count() })
      .from(noteVersions)
      .where(eq(noteVersions.body, 'Not yours.'));
    expect(stored).toEqual([{ n: 0 }]);
  });

  it('fails a note whose row the database refuses with that refusal, storing none of it and no event', async () => {
    // An author who is no user: the note's INSERT, sent without waiting, is refused at COMMIT (23503).
    const ctx = tenantContext(a, 'nurse', 'unknown-author');
    const stranger = { ...ctx, user: { ...ctx.user, id: 'no-such-user' } };
    const failure = await t.app.encounters.notes
      .create(stranger, encounterId, 'Refused.')
      .catch((error: unknown) => error);
    expect(databaseError(failure)).toEqual({ code: '23503', constraint: 'notes_author_id_users_id_fk' });
    const [notesStored] = await t.database.db
      .select({ n: count() })
      .from(notes)
      .where(eq(notes.authorId, 'no-such-user'));
    const [versionsStored] = await t.database.db
      .select({ n: count() })
      .from(noteVersions)
      .where(eq(noteVersions.body, 'Refused.'));
    expect([notesStored!.n, versionsStored!.n]).toEqual([0, 0]);
    const events = await t.database.db
      .select({ n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'notes.create'), eq(auditEvents.requestId, 'unknown-author')));
    expect(events).toEqual([{ n: 0 }]);
  });

  it('amends by adding a version and keeps the original', async () => {
    const note = await write('nurse', 'Temp 38.2.');
    const amended = await amend('nurse', note.id, 'Temp 38.4.', 'misread thermometer');
    expect(amended.statusCode).toBe(200);
    expect(amended.json()).toMatchObject({ id: note.id, version: 2, body: 'Temp 38.4.', authorId: a.users.nurse.id });
    const byDoctor = await amend('doctor', note.id, 'Temp 38.4, rechecked.', 'rechecked');
    expect(byDoctor.json()).toMatchObject({ version: 3 });

    const versions = await call('manager')({ method: 'GET', url: `/api/v1/notes/${note.id}/versions` });
    expect(versions.statusCode).toBe(200);
    expect(versions.json()).toMatchObject({
      data: [
        { version: 1, body: 'Temp 38.2.', authorId: a.users.nurse.id, reason: null },
        { version: 2, body: 'Temp 38.4.', authorId: a.users.nurse.id, reason: 'misread thermometer' },
        { version: 3, body: 'Temp 38.4, rechecked.', authorId: a.users.doctor.id, reason: 'rechecked' },
      ],
      nextCursor: null,
    });
    const current = await call('nurse')({ method: 'GET', url: `/api/v1/notes/${note.id}` });
    expect(current.json()).toMatchObject({ version: 3, body: 'Temp 38.4, rechecked.', authorId: a.users.nurse.id });
  });

  it('pages through versions', async () => {
    const note = await write('doctor', 'v1');
    for (const body of ['v2', 'v3']) expect((await amend('doctor', note.id, body)).statusCode).toBe(200);
    const bodies: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/notes/${note.id}/versions?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await call('doctor')({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      bodies.push(...res.json().data.map((v: { body: string }) => v.body));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(bodies).toEqual(['v1', 'v2', 'v3']);
    const bad = await call('doctor')({ method: 'GET', url: `/api/v1/notes/${note.id}/versions?cursor=nonsense` });
    expect(bad.statusCode).toBe(400);
  });

  it('lets only the author or a doctor amend (another nurse gets 403)', async () => {
    const byDoctor = await write('doctor', 'Plan: salbutamol.');
    const res = await amend('nurse', byDoctor.id, 'Plan: nothing.');
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toBe("only the note's author or a doctor may amend it");
    const versions = await call('doctor')({ method: 'GET', url: `/api/v1/notes/${byDoctor.id}/versions` });
    expect(versions.json().data).toHaveLength(1);
    const manager = await amend('manager', byDoctor.id, 'x');
    expect(manager.statusCode).toBe(403);
    expect(manager.json().error.message).toContain('notes:write');
  });

  it('freezes a signed note: amending is 409, signing again is 409', async () => {
    const note = await write('nurse', 'Wound dressed.');
    const signed = await call('doctor')({ method: 'POST', url: `/api/v1/notes/${note.id}/sign` });
    expect(signed.statusCode).toBe(200);
    expect(signed.json()).toMatchObject({ signedBy: a.users.doctor.id, version: 1 });
    const amended = await amend('doctor', note.id, 'Wound dressed and cleaned.');
    expect(amended.statusCode).toBe(409);
    expect(amended.json().error.message).toBe('the note is signed: a signed note cannot be amended');
    const again = await call('doctor')({ method: 'POST', url: `/api/v1/notes/${note.id}/sign` });
    expect(again.statusCode).toBe(409);
  });

  it('refuses a nurse signing a note with 403 naming notes:sign', async () => {
    const note = await write('nurse', 'Night uneventful.');
    const res = await call('nurse')({ method: 'POST', url: `/api/v1/notes/${note.id}/sign` });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toBe('the nurse role lacks the notes:sign permission');
  });

  it('refuses empty, oversized and control-character bodies, and an amendment without a reason', async () => {
    for (const body of ['   ', 'x'.repeat(50_001), 'a\u0000b', 'safe\u202etxt.exe']) {
      const res = await call('nurse')({
        method: 'POST',
        url: `/api/v1/encounters/${encounterId}/notes`,
        payload: { body },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details[0].path).toBe('body.body');
    }
    const note = await write('nurse', 'Fine.');
    const res = await call('nurse')({
      method: 'POST',
      url: `/api/v1/notes/${note.id}/amend`,
      payload: { body: 'Fine!' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe('body.reason');
  });

  it('answers 404 for unknown notes and encounters', async () => {
    expect((await amend('doctor', 'no-such-note', 'x')).statusCode).toBe(404);
    expect((await call('doctor')({ method: 'POST', url: '/api/v1/notes/no-such-note/sign' })).statusCode).toBe(404);
    expect((await call('doctor')({ method: 'GET', url: '/api/v1/notes/no-such-note/versions' })).statusCode).toBe(404);
    const res = await call('doctor')({ method: 'POST', url: '/api/v1/encounters/nope/notes', payload: { body: 'x' } });
    expect(res.statusCode).toBe(404);
  });

  it('records every note write and read on the audit trail with the patient', async () => {
    const res = await call('admin')({ method: 'GET', url: `/api/v1/audit-events?patientId=${patientId}&limit=100` });
    const actions = new Set(res.json().data.map((e: { action: string }) => e.action));
    for (const action of ['notes.create', 'notes.amend', 'notes.sign', 'notes.versions', 'notes.read'])
      expect(actions).toContain(action);
  });

  it('never logs a note body', () => {
    const text = logs.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const body of ['Temp 38.4', 'Wound dressed', 'Plan: salbutamol', 'Night uneventful']) {
      expect(text).not.toContain(body);
    }
  });
});
