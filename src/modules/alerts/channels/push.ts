/**
 * Web push to the browsers and phones of staff who subscribed. web-push encrypts the payload
 * (aes128gcm) and signs the request (VAPID); the request itself is sent with fetch so that the
 * breaker's timeout, or the caller, can abort it (web-push's own sender cannot be aborted).
 */
import webpush, { type Urgency } from 'web-push';
import type { AlertMessage, AlertPriority } from './message.js';
import { checkOutsideUrl } from './outside-url.js';
import {
  type ChannelBreakers,
  type DeliveryOutcome,
  failed,
  gone,
  HttpAnswerError,
  sent,
  skipped,
  unanswered,
} from './outcome.js';
import { postThroughBreaker } from './post.js';
import type { VapidKeys } from './vapid-keys.js';

/** What a browser's `PushSubscription.toJSON()` gives, as stored for a user. */
export interface PushSubscriptionInfo {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushSettings {
  /** null: push is off, for `disabledReason`. */
  vapid: VapidKeys | null;
  disabledReason?: string;
  /** VAPID_SUBJECT: how a push service reaches whoever runs this server. */
  subject: string;
  /** WEBHOOK_ALLOW_PRIVATE: endpoints on loopback and private addresses, over http too (tests, local setups). */
  allowPrivate: boolean;
}

/**
 * How long a push service keeps an undelivered message, and how soon it wakes the device. An alert
 * not answered within minutes has escalated to the next tier, so a copy that arrives later would
 * point at stale news; a low-priority alert escalates more slowly. No priority asks for 'low'
 * urgency: that waits for the phone to be on power and Wi-Fi.
 */
export const PUSH_DELIVERY: Record<AlertPriority, { ttlSeconds: number; urgency: Urgency }> = {
  high: { ttlSeconds: 600, urgency: 'high' },
  medium: { ttlSeconds: 1800, urgency: 'normal' },
  low: { ttlSeconds: 3600, urgency: 'normal' },
};

/** The encrypted, VAPID-signed request for one subscription; null when its keys are not usable. */
function encryptedRequest(
  subscription: PushSubscriptionInfo,
  message: AlertMessage,
  vapidDetails: VapidKeys & { subject: string },
): { headers: Record<string, string>; body: Uint8Array } | null {
  const { ttlSeconds, urgency } = PUSH_DELIVERY[message.priority];
  const payload = JSON.stringify({ title: message.subject, body: message.body, url: message.link ?? null });
  try {
    const request = webpush.generateRequestDetails(subscription, payload, {
      vapidDetails,
      TTL: ttlSeconds,
      urgency,
      contentEncoding: 'aes128gcm',
    });
    // fetch sets Content-Length itself, and takes header values as strings.
    const headers = Object.fromEntries(
      Object.entries(request.headers)
        .filter(([name]) => name.toLowerCase() !== 'content-length')
        .map(([name, value]) => [name, String(value)]),
    );
    return { headers, body: request.body };
  } catch {
    return null;
  }
}

export class PushChannel {
  readonly enabled: boolean;
  readonly disabledReason: string | undefined;
  /** The VAPID public key: a browser passes it to `pushManager.subscribe` as applicationServerKey. */
  readonly publicKey: string | null;

  constructor(
    private readonly settings: PushSettings,
    private readonly breakers: ChannelBreakers,
  ) {
    this.enabled = settings.vapid !== null;
    this.disabledReason = settings.vapid ? undefined : (settings.disabledReason ?? 'VAPID keys are not set');
    this.publicKey = settings.vapid?.publicKey ?? null;
  }

  /**
   * Sends `message` as `{ title, body, url }` to one subscription. 404 or 410 from the push service:
   * the subscription is gone (`gone: true`, delete it). 429, 5xx or no answer: retryable. A refused
   * endpoint or unusable keys also give `gone`: that subscription can never work.
   */
  async send(
    subscription: PushSubscriptionInfo,
    message: AlertMessage,
    signal?: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const vapid = this.settings.vapid;
    if (!vapid) return skipped(`push disabled: ${this.disabledReason}`);
    const checked = checkOutsideUrl(subscription.endpoint, {
      allowPrivate: this.settings.allowPrivate,
      protocols: this.settings.allowPrivate ? ['https:', 'http:'] : ['https:'],
    });
    if (!checked.ok) return gone(`push endpoint refused: ${checked.reason}`);
    const host = checked.url.host;

    const request = encryptedRequest(subscription, message, { subject: this.settings.subject, ...vapid });
    if (!request) return gone('push subscription keys are not usable');
    try {
      const status = await postThroughBreaker(this.breakers, 'push', checked.url, request, signal);
      return sent(`push service answered ${status} (${host})`);
    } catch (error) {
      if (!(error instanceof HttpAnswerError)) return unanswered('push', error, signal);
      if (error.status === 404 || error.status === 410)
        return gone(`push subscription gone (${error.status}, ${host})`);
      const retryable = error.status === 429 || error.status >= 500;
      return failed(`push service answered ${error.status} (${host})`, retryable);
    }
  }
}
