/**
 * Chat webhooks: a hospital's admin sets a URL (Slack, or anything that takes Slack's incoming
 * webhook JSON: Mattermost, Rocket.Chat, a bridge to Teams) and alerts are posted there.
 */
import type { AlertMessage } from './message.js';
import { checkOutsideUrl, type UrlCheck, type UrlCheckOptions } from './outside-url.js';
import { type ChannelBreakers, type DeliveryOutcome, failed, HttpAnswerError, sent, unanswered } from './outcome.js';
import { postThroughBreaker } from './post.js';

/**
 * For an admin setting a hospital's webhook (and again before each post): http or https, no
 * credentials in the URL, and unless `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) no loopback, link-local,
 * private or metadata host. Literal addresses only: DNS rebinding is not covered (see outside-url.ts).
 */
export function checkWebhookUrl(url: string, options: UrlCheckOptions): UrlCheck {
  return checkOutsideUrl(url, { ...options, protocols: ['http:', 'https:'] });
}

// Slack reads &, < and > as markup (`<!channel>` pings everyone), so names are escaped.
const slackEscape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack's incoming-webhook JSON: a plain fallback `text` and one section with a link button. */
export function slackPayload(message: AlertMessage) {
  const [subject, body] = [message.subject, message.body].map(slackEscape) as [string, string];
  const section = {
    type: 'section',
    text: { type: 'mrkdwn', text: `*${subject}*\n${body}` },
    ...(message.link
      ? { accessory: { type: 'button', text: { type: 'plain_text', text: 'Open alert' }, url: message.link } }
      : {}),
  };
  const fallback = [subject, body, ...(message.link ? [`Open: ${slackEscape(message.link)}`] : [])].join('\n');
  return { text: fallback, blocks: [section] };
}

export class WebhookChannel {
  /** Always on: each hospital sets its own URL, or has none. */
  readonly enabled = true;

  constructor(
    private readonly options: UrlCheckOptions,
    private readonly breakers: ChannelBreakers,
  ) {}

  /**
   * Posts `message` to `url` through the webhook breaker. 2xx: sent. 429, 5xx, timeout or no answer: retryable. Another 4xx or a redirect (not
   * followed: it could lead anywhere): failed, not retryable, and not counted toward opening the breaker.
   */
  async send(url: string, message: AlertMessage, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const checked = checkWebhookUrl(url, this.options);
    if (!checked.ok) return failed(`webhook URL refused: ${checked.reason}`, false);
    const host = checked.url.host;
    const body = JSON.stringify(slackPayload(message));
    try {
      const status = await postThroughBreaker(
        this.breakers,
        'webhook',
        checked.url,
        { headers: { 'content-type': 'application/json' }, body },
        signal,
      );
      return sent(`webhook answered ${status} (${host})`);
    } catch (error) {
      if (!(error instanceof HttpAnswerError)) return unanswered('webhook', error, signal);
      const retryable = error.status === 429 || error.status >= 500;
      return failed(`webhook answered ${error.status} (${host})`, retryable);
    }
  }
}
