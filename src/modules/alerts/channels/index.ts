/**
 * The ways an alert reaches people outside the app: email, web push and chat webhooks. Each call goes
 * through the app's circuit breaker for that service and ends in a DeliveryOutcome; none throws.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../../config.js';
import { EmailChannel } from './email.js';
import type { ChannelBreakers } from './outcome.js';
import { PushChannel } from './push.js';
import { resolveVapidKeys } from './vapid-keys.js';
import { WebhookChannel } from './webhook.js';

export { EmailChannel } from './email.js';
export {
  type AlertMessage,
  type AlertMessageInput,
  type AlertMessageKind,
  type AlertPriority,
  renderAlertMessage,
} from './message.js';
export { type ChannelBreakers, type DeliveryOutcome } from './outcome.js';
export { PushChannel, type PushSubscriptionInfo } from './push.js';
export { checkWebhookUrl, WebhookChannel } from './webhook.js';

export interface Channels {
  email: EmailChannel;
  push: PushChannel;
  webhook: WebhookChannel;
}

export type ChannelSettings = Pick<
  Config,
  | 'NODE_ENV'
  | 'DATA_DIR'
  | 'SMTP_URL'
  | 'MAIL_FROM'
  | 'VAPID_PUBLIC_KEY'
  | 'VAPID_PRIVATE_KEY'
  | 'VAPID_SUBJECT'
  | 'WEBHOOK_ALLOW_PRIVATE'
  | 'breakerTimeouts'
>;

/** The three channels, built once at start; says in the log which are off and why. */
export function buildChannels(
  config: ChannelSettings,
  breakers: ChannelBreakers,
  log: Pick<FastifyBaseLogger, 'info' | 'warn'>,
): Channels {
  const email = new EmailChannel(
    { url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.breakerTimeouts.smtp },
    breakers,
  );
  if (!email.enabled) log.info(`alert emails are off: ${email.disabledReason}`);

  const vapid = resolveVapidKeys(config);
  if (vapid.keys === null) log.warn(`web push is off: ${vapid.reason}`);
  else if (vapid.from === 'generated')
    log.warn(
      `VAPID keys are not set: made a pair and kept it in ${vapid.file}. Set VAPID_PUBLIC_KEY and ` +
        'VAPID_PRIVATE_KEY when several instances send push, and in production.',
    );
  const push = new PushChannel(
    {
      vapid: vapid.keys,
      ...(vapid.keys === null ? { disabledReason: vapid.reason } : {}),
      subject: config.VAPID_SUBJECT,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    },
    breakers,
  );

  const webhook = new WebhookChannel({ allowPrivate: config.WEBHOOK_ALLOW_PRIVATE }, breakers);
  if (config.WEBHOOK_ALLOW_PRIVATE)
    log.warn('WEBHOOK_ALLOW_PRIVATE is on: webhooks and push may call loopback and private addresses');
  return { email, push, webhook };
}
