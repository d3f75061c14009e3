import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors } from '../http/errors.js';
import { RecordId } from '../http/ids.js';
import { PageQuery, pageOf } from '../http/pagination.js';
import { AUDIT_OUTCOMES } from './audit-event.js';
import { auditColumns } from './audit.repository.js';
import { AuditService } from './audit.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditService;
  }
}

const Timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

const Filter = z
  .object({
    actor: RecordId.optional().describe('User id, or API key id, of whoever acted.'),
    action: z.string().max(100).optional().describe('For example patient.read, users.role-change, auth.sign-in.'),
    resourceType: z.string().max(100).optional(),
    resourceId: z.string().max(200).optional(),
    patientId: RecordId.optional().describe(
      'Events about this patient, and the lists that showed it (the patient is then one of patientIds).',
    ),
    outcome: z.enum(AUDIT_OUTCOMES).optional(),
    from: Timestamp.optional().describe('ISO 8601; events at or after.'),
    to: Timestamp.optional().describe('ISO 8601; events at or before.'),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

const AuditEventItem = z
  .object({
    id: z.string(),
    seq: z.number().describe('Position in the organization’s hash chain.'),
    occurredAt: z.date(),
    actorType: z.string().describe('user, api-key, system or anonymous'),
    actorId: z.string().nullable(),
    actorRole: z.string().nullable(),
    action: z.string(),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    patientId: z.string().nullable().describe('The one patient the event is about.'),
    outcome: z.string(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    patientIds: z
      .array(z.string())
      .nullable()
      .describe(
        'Every patient a list disclosed (one event for the page); null for other events. Filtered by patientId, only that patient.',
      ),
  })
  .meta({ id: 'AuditEvent' });

const ChainReport = z
  .object({
    chainId: z.string(),
    events: z.number().describe('Events checked.'),
    broken: z
      .object({
        seq: z.number(),
        problem: z.enum(['altered', 'missing', 'relinked']),
        eventId: z.string().nullable(),
      })
      .nullable()
      .describe('The first link that does not hold, or null when the whole chain holds.'),
  })
  .meta({ id: 'AuditChainReport' });

const CSV_COLUMNS = Object.keys(auditColumns);

/** The organization's audit trail: list, CSV export and chain verification (admins and managers). */
export const auditRoutes = fp(
  async (app: FastifyInstance) => {
    app.decorate('audit', new AuditService(app.uow));
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/audit-events',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary: 'Audit events of the organization, newest first',
          querystring: z.intersection(PageQuery, Filter),
          response: { 200: pageOf(AuditEventItem), ...commonErrors },
        },
      },
      async (request) => app.audit.list(request.tenant, request.query, request.query),
    );

    r.get(
      '/api/v1/audit-events/export.csv',
      {
        config: { permission: 'audit:read', rateLimitOperation: 'exports' },
        schema: {
          tags: ['audit'],
          summary: 'The same selection as CSV, oldest first, streamed',
          querystring: Filter,
          response: { 200: z.string().describe('text/csv'), ...commonErrors },
        },
      },
      async (request, reply) => {
        const rows = await app.audit.export(request.tenant, request.query);
        const csv = stringify({
          header: true,
          columns: CSV_COLUMNS,
          // patientIds (a list's patients) as one cell, separated by spaces.
          cast: {
            date: (value) => value.toISOString(),
            object: (value) => (Array.isArray(value) ? value.join(' ') : JSON.stringify(value)),
          },
          // A user agent is the client's text: "=HYPERLINK(...)" must not become a formula in a spreadsheet.
          escape_formulas: true,
        });
        return (
          reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="audit-events.csv"')
            // A stream is sent as it is, past the response serializer (the schema only documents it).
            .send(Readable.from(rows).pipe(csv) as unknown as string)
        );
      },
    );

    r.get(
      '/api/v1/audit-events/verify',
      {
        config: { permission: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary: "Walk the organization's hash chain and report the first broken link",
          response: { 200: ChainReport, ...commonErrors },
        },
      },
      async (request) => app.audit.verify(request.tenant),
    );
  },
  { name: 'audit-routes', dependencies: ['kit', 'tenancy'] },
);
