/**
 * Alert emails over SMTP (nodemailer). One transport, made from SMTP_URL at start; each message opens
 * its own connection, which is plenty for alerts and leaves no idle connection for a server to drop.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { AlertMessage } from './message.js';
import { type ChannelBreakers, type DeliveryOutcome, errorCode, failed, sent, skipped, unanswered } from './outcome.js';

export interface EmailSettings {
  /** SMTP_URL; unset: the channel is off. */
  url: string | undefined;
  /** MAIL_FROM. */
  from: string;
  /** The smtp breaker's timeout: a connection the breaker has given up on closes by itself soon after. */
  timeoutMs: number;
}

/**
 * What the server's refusal means: may a later attempt succeed, and is it the server's fault (so it
 * counts toward opening the breaker)?
 */
interface SmtpAnswer {
  retryable: boolean;
  serverFault: boolean;
  reason: string;
}

/** The server's answer in an SMTP error; null when there was none (no connection, a timeout, the breaker open). */
function smtpAnswer(error: unknown, domain: string): SmtpAnswer | null {
  const { responseCode, command } = error as { responseCode?: unknown; command?: unknown };
  const code = errorCode(error);
  const step = typeof command === 'string' && /^[A-Z0-9 -]{1,24}$/.test(command) ? command : 'SMTP';
  if (typeof responseCode === 'number') {
    const reason = `smtp answered ${responseCode} to ${step} (${domain})`;
    // 4xx: try again later (greylisting, a full queue, a server restarting).
    if (responseCode < 500) return { retryable: true, serverFault: true, reason };
    // 5xx to this recipient or this message: final, and says nothing about the server's health.
    if (step === 'RCPT TO' || step === 'DATA') return { retryable: false, serverFault: false, reason };
    // 5xx to MAIL FROM or AUTH: our settings are refused, for every message alike.
    return { retryable: false, serverFault: true, reason };
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE')
    return { retryable: false, serverFault: false, reason: `smtp refused the message (${code}, ${domain})` };
  if (code === 'EAUTH') return { retryable: false, serverFault: true, reason: 'smtp sign-in failed (EAUTH)' };
  return null;
}

// One plain address: a string nodemailer would read as a list or a display name is refused.
const ADDRESS = /^[^\s@<>,;:"()[\]\\]+@([^\s@<>,;:"()[\]\\]+\.[^\s@<>,;:"()[\]\\]+)$/;

/**
 * Resolves like `work`, or rejects when `signal` aborts first. The SMTP exchange itself cannot be
 * aborted: it ends at its own timeouts, and the message may still go out (a retry may then send it
 * twice, which beats an alert that is never sent).
 */
function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class EmailChannel {
  readonly enabled: boolean;
  readonly disabledReason: string | undefined;
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo> | null;

  constructor(
    settings: EmailSettings,
    private readonly breakers: ChannelBreakers,
  ) {
    this.enabled = Boolean(settings.url);
    this.disabledReason = settings.url ? undefined : 'SMTP_URL is not set';
    const options: SMTPTransport.Options = {
      url: settings.url,
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
      dnsTimeout: settings.timeoutMs,
    };
    this.#transport = settings.url ? nodemailer.createTransport(options, { from: settings.from }) : null;
  }

  /**
   * Sends `message` to one address through the smtp breaker. A 4xx answer or no answer: retryable.
   * A 5xx to the recipient or the message: failed for good, not counted toward opening the breaker.
   */
  async send(to: string, message: AlertMessage, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const transport = this.#transport;
    if (!transport) return skipped(`email disabled: ${this.disabledReason}`);
    const domain = ADDRESS.exec(to)?.[1]?.toLowerCase();
    if (!domain) return failed('not a single email address', false);
    try {
      await this.breakers.for('smtp').fire(
        () =>
          untilAborted(
            transport.sendMail({
              to: { name: '', address: to },
              subject: message.subject,
              text: message.text,
              html: message.html,
              // RFC 3834: an out-of-office reply to an alert helps no one.
              headers: { 'Auto-Submitted': 'auto-generated' },
            }),
            signal,
          ),
        { isFailure: (error) => !signal?.aborted && (smtpAnswer(error, domain)?.serverFault ?? true) },
      );
      return sent(`smtp accepted (${domain})`);
    } catch (error) {
      const answer = smtpAnswer(error, domain);
      return answer ? failed(answer.reason, answer.retryable) : unanswered('smtp', error, signal);
    }
  }
}
