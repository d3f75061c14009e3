import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type AuditEvent, boundedUserAgent } from './audit/audit-event.js';
import { AuditLog } from './audit/audit-log.js';
import { UnitOfWork } from './db/unit-of-work.js';
import { Outbox } from './outbox/outbox.js';

declare module 'fastify' {
  interface FastifyInstance {
    auditLog: AuditLog;
    outbox: Outbox;
    /** How services change and read tenant data: see unit-of-work.ts. */
    uow: UnitOfWork;
  }
}

/** A security event about a request (a refusal), from whatever is known of the caller. */
export function requestEvent(
  request: FastifyRequest,
  at: Date,
  fields: Pick<AuditEvent, 'action' | 'outcome'> & Partial<AuditEvent>,
): AuditEvent {
  const ctx = request.ctx as FastifyRequest['ctx'] | null;
  return {
    organizationId: ctx?.organizationId ?? null,
    occurredAt: at,
    actorType: ctx ? (ctx.apiKeyId ? 'api-key' : 'user') : 'anonymous',
    actorId: ctx ? (ctx.apiKeyId ?? ctx.user.id) : null,
    actorRole: ctx?.role ?? null,
    resourceType: 'route',
    resourceId: `${request.method} ${request.routeOptions.url ?? '(no route)'}`,
    patientId: null,
    patientIds: null,
    ip: request.ip ?? null,
    userAgent: boundedUserAgent(request.headers['user-agent']),
    requestId: request.id,
    ...fields,
  };
}

/**
 * The module kit on the app: the audit log (with its group commit), the outbox and the unit of
 * work. Refusals are security events: every 403 and 429 is recorded (after the answer; the
 * refusal itself needs no durable record before it is sent).
 */
export const kitPlugin = fp(
  async (app: FastifyInstance, opts: { auditReads: boolean; outboxPollMs?: number }) => {
    const auditLog = new AuditLog(app.database.db);
    const outbox = new Outbox(app.database.db, app.now, app.log.child({ module: 'outbox' }), {
      ...(opts.outboxPollMs ? { pollMs: opts.outboxPollMs } : {}),
    });
    app.decorate('auditLog', auditLog);
    app.decorate('outbox', outbox);
    app.decorate(
      'uow',
      new UnitOfWork(app.database, auditLog, outbox, app.now, app.log, {
        auditReads: opts.auditReads,
        cache: app.cache,
      }),
    );
    app.addHook('onReady', async () => {
      outbox.start();
      // Events a write left pending when the process stopped (kill -9 between its commit and the link).
      await auditLog
        .link()
        .catch((error: unknown) =>
          app.log.warn({ code: (error as { code?: string }).code }, 'pending audit events not linked yet'),
        );
    });
    app.addHook('preClose', async () => {
      await outbox.stop();
      await auditLog.drain();
    });

    app.addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      if (status === 403 || status === 429) {
        const event = requestEvent(request, app.now(), {
          action: status === 403 ? 'access.denied' : 'access.rate-limited',
          outcome: 'denied',
        });
        auditLog.recordLater(Promise.resolve([event]), (error) =>
          request.log.error({ err: error }, 'audit record failed'),
        );
      }
      done();
    });
  },
  { name: 'kit', dependencies: ['db', 'cache'] },
);
