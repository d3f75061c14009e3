import { sql, type SQL } from 'drizzle-orm';
import { AppError } from '../http/errors.js';
import type { Db } from '../db/database.js';
import type { JobResult, JobState } from './job-map.js';

/** A job as the jobs API shows it: state, attempts, timestamps and outcome; never its payload beyond ids. */
export interface JobView {
  id: string;
  name: string;
  state: JobState;
  priority: number;
  /** Runs started so far (a retry is a new attempt). */
  attempts: number;
  retryLimit: number;
  requestId: string | null;
  singletonKey: string | null;
  createdOn: string;
  startAfter: string;
  startedOn: string | null;
  completedOn: string | null;
  /** What the handler returned (ids and counts), for a completed job. */
  result: JobResult | null;
  /** Why the last attempt failed, for a job waiting for a retry or failed. */
  error: string | null;
}

export interface JobFilter {
  state?: JobState;
  name?: string;
  limit: number;
  cursor?: string;
}

interface Row {
  id: string;
  name: string;
  state: JobState;
  priority: number;
  retry_count: number;
  retry_limit: number;
  request_id: string | null;
  singleton_key: string | null;
  created_on: string;
  created_micros: string;
  start_after: string;
  started_on: string | null;
  completed_on: string | null;
  output: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Timestamps as ISO text (to_json), whatever type parsers the driver has; created_on also in exact
// microseconds for the keyset cursor.
const COLUMNS = sql.raw(`id::text as id, name, state::text as state, priority, retry_count, retry_limit,
  data->>'requestId' as request_id, singleton_key,
  to_json(created_on)#>>'{}' as created_on, (extract(epoch from created_on) * 1000000)::bigint::text as created_micros,
  to_json(start_after)#>>'{}' as start_after, to_json(started_on)#>>'{}' as started_on,
  to_json(completed_on)#>>'{}' as completed_on, output`);

const iso = (value: string) => new Date(value).toISOString();
const isoOrNull = (value: string | null) => (value === null ? null : iso(value));

function scalars(value: unknown): JobResult | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const result: JobResult = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (field === null || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field)))
      result[key] = field;
    else if (typeof field === 'string' && field.length <= 256) result[key] = field;
  }
  return result;
}

/** The error message pg-boss kept: a handler's error, or its own (`{ value: { message } }` on a timeout). */
function errorOf(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return null;
  const o = output as { message?: unknown; value?: { message?: unknown } };
  const message =
    typeof o.message === 'string' ? o.message : typeof o.value?.message === 'string' ? o.value.message : null;
  return message === null ? null : message.slice(0, 500);
}

function view(row: Row): JobView {
  const failedOrRetrying = row.state === 'failed' || row.state === 'retry';
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    priority: row.priority,
    attempts: row.started_on === null ? 0 : row.retry_count + 1,
    retryLimit: row.retry_limit,
    requestId: row.request_id,
    singletonKey: row.singleton_key,
    createdOn: iso(row.created_on),
    startAfter: iso(row.start_after),
    startedOn: isoOrNull(row.started_on),
    completedOn: isoOrNull(row.completed_on),
    result: row.state === 'completed' ? scalars(row.output) : null,
    error: failedOrRetrying || row.state === 'active' ? errorOf(row.output) : null,
  };
}

function encodeCursor(row: Row): string {
  return Buffer.from(`${row.created_micros}.${row.id}`).toString('base64url');
}

function decodeCursor(value: string): { micros: string; id: string } {
  const [micros, id, extra] = Buffer.from(value, 'base64url').toString('utf8').split('.');
  if (extra !== undefined || !micros || !/^\d{1,19}$/.test(micros) || !id || !UUID.test(id))
    throw new AppError('VALIDATION_FAILED', 'the cursor is not valid', [
      { path: 'querystring.cursor', message: 'malformed cursor' },
    ]);
  return { micros, id };
}

/**
 * Reads an organization's jobs from pg-boss's tables (live and archived), through the indexes migration
 * 0006 adds (by id; by organization, newest first). Another organization's job is simply not found.
 */
export class JobRecords {
  constructor(private readonly db: Db) {}

  async get(organizationId: string, id: string): Promise<JobView> {
    if (!UUID.test(id)) throw new AppError('NOT_FOUND', 'job not found');
    const where = sql`id = ${id}::uuid and data->>'organizationId' = ${organizationId}`;
    const result = await this.db.execute(
      sql`(select ${COLUMNS} from pgboss.job where ${where}) union all (select ${COLUMNS} from pgboss.archive where ${where}) limit 1`,
    );
    const row = (result as { rows: Row[] }).rows[0];
    if (!row) throw new AppError('NOT_FOUND', 'job not found');
    return view(row);
  }

  async list(organizationId: string, filter: JobFilter): Promise<{ data: JobView[]; nextCursor: string | null }> {
    const conditions: SQL[] = [sql`data->>'organizationId' = ${organizationId}`];
    if (filter.state) conditions.push(sql`state = ${filter.state}::pgboss.job_state`);
    if (filter.name) conditions.push(sql`name = ${filter.name}`);
    if (filter.cursor) {
      const { micros, id } = decodeCursor(filter.cursor);
      conditions.push(
        sql`(created_on, id) < (timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`,
      );
    }
    const where = sql.join(conditions, sql` and `);
    const take = filter.limit + 1;
    const order = sql.raw('order by created_on desc, id desc');
    const result = await this.db.execute(
      sql`select * from ((select ${COLUMNS}, created_on as sort_on, id as sort_id from pgboss.job where ${where} ${order} limit ${take})
        union all (select ${COLUMNS}, created_on as sort_on, id as sort_id from pgboss.archive where ${where} ${order} limit ${take})) page
        order by sort_on desc, sort_id desc limit ${take}`,
    );
    const rows = (result as { rows: Row[] }).rows;
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    const last = page.at(-1);
    return { data: page.map(view), nextCursor: more && last ? encodeCursor(last) : null };
  }
}
