import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import { LAB_RESULT_CRITICAL } from '../labs/lab-orders.service.js';
import { AlertReadsService } from './alert-reads.service.js';
import { AlertsService } from './alerts.service.js';
import { AlertStatsService } from './alert-stats.service.js';
import { EscalationPoliciesService } from './escalation-policies.service.js';
import {
  Alert,
  AlertDetail,
  AlertEvent,
  AlertEventsQuery,
  AlertQuery,
  AlertStats,
  AlertStatsQuery,
  CreateMaintenanceWindow,
  MaintenanceWindow,
  EscalationPolicy,
  EscalationPolicyView,
  RaiseAlert,
  ResolveAlert,
  SilenceAlert,
} from './alerts.shapes.js';
import { EscalationEngine, type EngineSettings } from './escalation-engine.js';
import { AlertDelivery, DELIVER_JOB, DELIVER_QUEUE } from './alert-delivery.js';
import { AlertEscalation } from './alert-escalation.js';
import type { AlertNewsDependencies } from './alert-news.js';
import { pruneAlertEvents } from './alert-news.repository.js';
import { scheduleRetention } from '../../platform/jobs/retention.js';
import { buildChannels, type ChannelSettings, checkWebhookUrl, renderAlertMessage } from './channels/index.js';
import { checkOutsideUrl } from './channels/outside-url.js';
import { MaintenanceWindowsService } from './maintenance-windows.service.js';
import { notificationRoutes } from './notifications.routes.js';
import { NotificationsService } from './notifications.service.js';
import { z } from 'zod';

declare module 'fastify' {
  interface FastifyInstance {
    alerts: AlertsService;
    alertReads: AlertReadsService;
    escalations: EscalationEngine;
  }
}

export interface AlertsModuleOptions {
  engine: EngineSettings;
  config: ChannelSettings & { publicUrl: string; ALERT_EVENTS_RETENTION_DAYS: number };
}

declare module '../../platform/jobs/job-map.js' {
  interface JobMap {
    /** Deletes alert events older than ALERT_EVENTS_RETENTION_DAYS (daily, cron). */
    'alerts.prune': { organizationId: null; requestId: null };
  }
}

const NoBody = z.strictObject({}).nullish();
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/**
 * Clinical alerts: raising, responding, the escalation engine, the event feed for real-time
 * clients, escalation policies and in-app notifications (README, "Clinical alerts").
 */
export const alertsModule = fp(
  async (app: FastifyInstance, opts: AlertsModuleOptions) => {
    const { config } = opts;
    const linkTo = (alertId: string) => `${config.publicUrl}/alerts/${alertId}`;
    const allowPrivate = { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE };
    const channels = buildChannels(config, app.breakers, app.log.child({ module: 'alert-channels' }));
    const delivery = new AlertDelivery({ uow: app.uow, now: () => app.now(), channels, linkTo });
    await app.jobs.register(DELIVER_JOB, (job) => delivery.run(job), DELIVER_QUEUE);
    // Housekeeping: the event feed is a catch-up buffer, kept ALERT_EVENTS_RETENTION_DAYS; timelines stay with their alert.
    await scheduleRetention(app.jobs, 'alerts.prune', '27 3 * * *', {
      days: config.ALERT_EVENTS_RETENTION_DAYS,
      now: () => app.now(),
      prune: (before) => pruneAlertEvents(app.database.db, before),
    });
    const news: AlertNewsDependencies = {
      realtime: app.realtime,
      render: renderAlertMessage,
      linkTo,
      queueOutside: (work, deliveries, alerts, at) => delivery.queue(work, deliveries, alerts, at),
    };
    const alerts = new AlertsService({ ...news, uow: app.uow, now: () => app.now() });
    const reads = new AlertReadsService({ uow: app.uow });
    const stats = new AlertStatsService({ uow: app.uow, now: () => app.now() });
    const policies = new EscalationPoliciesService({
      uow: app.uow,
      now: () => app.now(),
      checkWebhookUrl: (url) => checkWebhookUrl(url, allowPrivate),
    });
    const escalation = new AlertEscalation({ uow: app.uow, now: () => app.now(), news });
    app.decorate('alerts', alerts);
    app.decorate('alertReads', reads);
    const windows = new MaintenanceWindowsService({ uow: app.uow, now: () => app.now() });
    // A critical lab result raises an alert (delivered at least once: a repeat is counted, not doubled).
    app.outbox.on(LAB_RESULT_CRITICAL, async (message) => {
      await alerts.raiseForCriticalLab(message.payload);
    });
    const notifications = new NotificationsService({
      uow: app.uow,
      now: () => app.now(),
      push: { publicKey: channels.push.publicKey, disabledReason: channels.push.disabledReason ?? undefined },
      checkEndpoint: (url) =>
        checkOutsideUrl(url, {
          ...allowPrivate,
          protocols: config.WEBHOOK_ALLOW_PRIVATE ? ['https:', 'http:'] : ['https:'],
        }),
    });
    const engine = new EscalationEngine(
      app.database.db,
      (organizationId, alertIds) => escalation.fireDue(organizationId, alertIds),
      () => app.now(),
      app.log.child({ module: 'escalations' }),
      opts.engine,
    );
    app.decorate('escalations', engine);
    // Timers fire where jobs run (ROLE all or worker); an api-only process only raises and answers.
    if (app.jobs.runsHandlers) {
      app.addHook('onReady', async () => engine.start());
      app.addHook('preClose', async () => engine.stop());
    }

    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['alerts'];
    r.post(
      '/api/v1/alerts',
      {
        config: { permission: 'alerts:raise', rateLimitOperation: 'alerts' },
        schema: {
          tags,
          summary: 'Raise an alert for a room; a repeat of an open alert (same room and type) counts on it',
          description:
            'Tier 1 (nurses on duty in the unit) is told at once; unacknowledged, it escalates on the timers of ' +
            "the hospital's escalation policy. 201 with a new alert; 200 with the open alert and its raisedCount for a repeat.",
          body: RaiseAlert,
          response: { 200: Alert, 201: Alert, ...changed },
        },
      },
      async (request, reply) => {
        const { alert, created } = await alerts.raise(request.tenant, request.body);
        return reply.code(created ? 201 : 200).send(alert);
      },
    );
    r.get(
      '/api/v1/alerts',
      {
        config: { permission: 'alerts:read' },
        schema: {
          tags,
          summary: 'Alerts, newest first: open ones (every status but resolved) unless a status is given',
          querystring: AlertQuery,
          response: { 200: pageOf(Alert), ...commonErrors },
        },
      },
      async (request) => reads.list(request.tenant, request.query),
    );
    r.get(
      '/api/v1/alerts/events',
      {
        config: { permission: 'alerts:read' },
        schema: {
          tags,
          summary: 'The alert events after a seq, oldest first: what a reconnecting real-time client missed',
          description:
            'Events are kept ALERT_EVENTS_RETENTION_DAYS. `pruned` is true when some events after `after` are no ' +
            'longer kept: the list starts later, and the client reloads the alerts (GET /api/v1/alerts) for their state.',
          querystring: AlertEventsQuery,
          response: {
            200: pageOf(AlertEvent).extend({
              pruned: z.boolean().describe('Events after `after` were deleted by retention: reload the alerts.'),
            }),
            ...commonErrors,
          },
        },
      },
      async (request) => reads.events(request.tenant, request.query),
    );
    r.get(
      '/api/v1/alerts/stats',
      {
        config: { permission: 'alerts:stats' },
        schema: {
          tags,
          summary: 'Alert analytics: alerts per unit and urgency, time to acknowledge (median, p90), escalation rate',
          querystring: AlertStatsQuery,
          response: { 200: AlertStats, ...commonErrors },
        },
      },
      async (request) => stats.stats(request.tenant, request.query),
    );
    r.get(
      '/api/v1/alerts/:id',
      {
        config: { permission: 'alerts:read' },
        schema: {
          tags,
          summary: 'One alert with its location and its whole timeline',
          params: IdParams,
          response: { 200: AlertDetail, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => reads.get(request.tenant, request.params.id),
    );
    r.post(
      '/api/v1/alerts/:id/acknowledge',
      {
        config: { permission: 'alerts:respond' },
        schema: {
          tags,
          summary: 'Acknowledge: escalation stops; an acknowledgement not followed by a resolve times out (idempotent)',
          params: IdParams,
          body: NoBody,
          response: { 200: Alert, ...changed },
        },
      },
      async (request) => alerts.acknowledge(request.tenant, request.params.id),
    );
    r.post(
      '/api/v1/alerts/:id/unacknowledge',
      {
        config: { permission: 'alerts:respond' },
        schema: {
          tags,
          summary: 'Give an acknowledged alert back: active again, its escalation resumes (idempotent)',
          params: IdParams,
          body: NoBody,
          response: { 200: Alert, ...changed },
        },
      },
      async (request) => alerts.unacknowledge(request.tenant, request.params.id),
    );
    r.post(
      '/api/v1/alerts/:id/silence',
      {
        config: { permission: 'alerts:respond' },
        schema: {
          tags,
          summary: 'Silence until a time (at most 24 hours): no notifications or escalation until then',
          params: IdParams,
          body: SilenceAlert,
          response: { 200: Alert, ...changed },
        },
      },
      async (request) => alerts.silence(request.tenant, request.params.id, request.body.until),
    );
    r.post(
      '/api/v1/alerts/:id/resolve',
      {
        config: { permission: 'alerts:respond' },
        schema: {
          tags,
          summary: 'Resolve with what was done: nothing more is timed or sent (idempotent)',
          params: IdParams,
          body: ResolveAlert,
          response: { 200: Alert, ...changed },
        },
      },
      async (request) => alerts.resolve(request.tenant, request.params.id, request.body.resolution),
    );

    r.get(
      '/api/v1/units/:id/maintenance-windows',
      {
        config: { permission: 'hospitals:read' },
        schema: {
          tags,
          summary: "The unit's maintenance windows not yet over (alerts then notify nobody)",
          params: IdParams,
          response: { 200: z.object({ data: z.array(MaintenanceWindow) }), ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => windows.list(request.tenant, request.params.id),
    );
    r.post(
      '/api/v1/units/:id/maintenance-windows',
      {
        config: { permission: 'alerts:policy' },
        schema: {
          tags,
          summary: "Open a maintenance window: the unit's alerts are recorded but notify nobody while it lasts",
          params: IdParams,
          body: CreateMaintenanceWindow,
          response: { 201: MaintenanceWindow, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await windows.open(request.tenant, request.params.id, request.body)),
    );
    r.delete(
      '/api/v1/maintenance-windows/:id',
      {
        config: { permission: 'alerts:policy' },
        schema: {
          tags,
          summary: 'Close a maintenance window now',
          params: IdParams,
          response: { 204: z.null().describe('Closed'), ...commonErrors, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        await windows.close(request.tenant, request.params.id);
        return reply.code(204).send(null);
      },
    );
    r.get(
      '/api/v1/hospitals/:id/escalation-policy',
      {
        config: { permission: 'hospitals:read' },
        schema: {
          tags,
          summary: "The hospital's escalation policy (the default if it has not set one)",
          params: IdParams,
          response: { 200: EscalationPolicyView, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => policies.policy(request.tenant, request.params.id),
    );
    r.put(
      '/api/v1/hospitals/:id/escalation-policy',
      {
        config: { permission: 'alerts:policy' },
        schema: {
          tags,
          summary: "Set the hospital's escalation policy for alerts raised from now on (running alerts keep theirs)",
          params: IdParams,
          body: EscalationPolicy,
          response: { 200: EscalationPolicyView, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => policies.savePolicy(request.tenant, request.params.id, request.body),
    );

    notificationRoutes(app, notifications);
  },
  { name: 'alerts', dependencies: ['kit', 'jobs', 'realtime'] },
);
