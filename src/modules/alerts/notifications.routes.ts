import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import {
  MarkRead,
  Notification,
  NotificationPreferences,
  NotificationPreferencesView,
  NotificationQuery,
  PushSubscriptionBody,
  PushSubscriptionView,
} from './alerts.shapes.js';
import type { NotificationsService } from './notifications.service.js';

/** Each person's own: in-app notifications, channel choices per urgency, web push subscriptions. */
export function notificationRoutes(app: FastifyInstance, notifications: NotificationsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const notificationTags = ['notifications'];
  r.get(
    '/api/v1/notifications',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'Your in-app notifications, newest first, with your unread count',
        querystring: NotificationQuery,
        response: { 200: pageOf(Notification).extend({ unread: z.number() }), ...commonErrors },
      },
    },
    async (request) => notifications.list(request.tenant, request.query),
  );
  r.post(
    '/api/v1/notifications/read',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'Mark your notifications read: the ids given, or all of them',
        body: MarkRead,
        response: { 200: z.object({ marked: z.number(), unread: z.number() }), ...commonErrors },
      },
    },
    async (request) => notifications.markRead(request.tenant, request.body.ids),
  );
  r.get(
    '/api/v1/notifications/preferences',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'Your outside channels (email, push) per urgency, and what you get in each hospital',
        response: { 200: NotificationPreferencesView, ...commonErrors },
      },
    },
    async (request) => notifications.preferences(request.tenant),
  );
  r.put(
    '/api/v1/notifications/preferences',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'Choose your outside channels per urgency (an urgency left out follows the hospital)',
        body: NotificationPreferences,
        response: { 200: NotificationPreferencesView, ...commonErrors },
      },
    },
    async (request) => {
      await notifications.savePreferences(request.tenant, request.body.channels);
      return notifications.preferences(request.tenant);
    },
  );
  r.get(
    '/api/v1/notifications/push-key',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: "The server's web push (VAPID) public key to subscribe with; null while push is off",
        response: {
          200: z.object({ publicKey: z.string().nullable(), reason: z.string().nullable() }),
          ...commonErrors,
        },
      },
    },
    async () => notifications.pushKey(),
  );
  r.get(
    '/api/v1/notifications/push-subscriptions',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'The browsers you get web push on',
        response: { 200: z.object({ data: z.array(PushSubscriptionView) }), ...commonErrors },
      },
    },
    async (request) => notifications.subscriptions(request.tenant),
  );
  r.post(
    '/api/v1/notifications/push-subscriptions',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: "Get web push on this browser (the body is its PushSubscription's toJSON())",
        body: PushSubscriptionBody,
        response: { 201: PushSubscriptionView, ...commonErrors, 409: ErrorBody },
      },
    },
    async (request, reply) => reply.code(201).send(await notifications.subscribe(request.tenant, request.body)),
  );
  r.delete(
    '/api/v1/notifications/push-subscriptions/:id',
    {
      config: { permission: 'notifications:own' },
      schema: {
        tags: notificationTags,
        summary: 'Stop web push on one of your browsers',
        params: IdParams,
        response: { 204: z.null(), ...commonErrors, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      await notifications.unsubscribe(request.tenant, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
