/**
 * The words of an alert notification that leaves Wardline (email, push, chat webhook). It goes to
 * services outside the hospital's control, so it names the place and the kind of alert and links
 * to Wardline, where the reader signs in to see more: there is no field for patient data at all.
 */

export type AlertMessageKind = 'alert' | 'escalation' | 'ack-reminder' | 'undelivered';
export type AlertPriority = 'high' | 'medium' | 'low';

export interface AlertMessageInput {
  kind: AlertMessageKind;
  priority: AlertPriority;
  /** fall, code-blue, pain, assistance, equipment, critical-lab, other. */
  type: string;
  hospitalName: string;
  unitName: string;
  roomName: string;
  /** The escalation tier now paged (1 = the first responders). */
  tier: number;
  /** The alert's page in Wardline (http or https). */
  link: string;
}

export interface AlertMessage {
  /** One line: what happened where (an email subject, a push title). */
  subject: string;
  /** One line under the subject: the hospital. */
  body: string;
  /** Plain text: subject, body and "Open: <link>". */
  text: string;
  html: string;
  /** The link when it is an http(s) URL; otherwise left out of every rendering. */
  link?: string;
  /** Push urgency and time to live follow it. */
  priority: AlertPriority;
}

/** Longest hospital, unit or room name shown; the rest is cut with an ellipsis. */
export const NAME_MAX = 80;
const TYPE_MAX = 32;

// The characters src/platform/http/text.ts refuses in names: controls and line separators become a
// space, bidirectional overrides and isolates ("Trojan Source") go.
const CONTROLS = /[\p{Cc}\u2028\u2029]/gu;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** A name from an admin, made safe to show on one line: hidden characters out, length bounded. */
export function cleanName(value: string, max = NAME_MAX): string {
  const cleaned = value.replace(BIDI, '').replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...cleaned];
  if (chars.length === 0) return '(unnamed)';
  if (chars.length <= max) return cleaned;
  const cut = chars.slice(0, max - 1).join('');
  return `${cut.trimEnd()}…`;
}

const TYPE_LABELS: Record<string, string> = {
  fall: 'fall',
  'code-blue': 'code blue',
  pain: 'pain',
  assistance: 'assistance',
  equipment: 'equipment',
  'critical-lab': 'critical lab result',
  other: 'other',
};

const PRIORITY_LABELS: Record<AlertPriority, string> = {
  high: 'High-priority',
  medium: 'Medium-priority',
  low: 'Low-priority',
};

function typeLabel(type: string): string {
  return Object.hasOwn(TYPE_LABELS, type) ? TYPE_LABELS[type]! : cleanName(type, TYPE_MAX);
}

/** "room 12", without doubling a name that already says "Room 12". */
function roomLabel(roomName: string): string {
  const room = cleanName(roomName);
  return /^room\b/i.test(room) ? room : `room ${room}`;
}

function prefixOf(input: AlertMessageInput): string {
  switch (input.kind) {
    case 'alert':
      return '';
    case 'escalation':
      return `Escalated to tier ${Math.max(1, Math.trunc(input.tier)) || 1}: `;
    case 'ack-reminder':
      return 'Reminder: acknowledged alert not yet resolved: ';
    case 'undelivered':
      return 'Alert could not be delivered to anyone on duty: ';
  }
}

/** The link if it is a plain http(s) URL; anything else (javascript:, credentials) is dropped. */
function safeLink(link: string): string | undefined {
  try {
    const url = new URL(link.trim());
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/** The notification for one alert event, the same words on every channel. */
export function renderAlertMessage(input: AlertMessageInput): AlertMessage {
  const where = `${cleanName(input.unitName)}, ${roomLabel(input.roomName)}`;
  const headline = `${PRIORITY_LABELS[input.priority]} alert (${typeLabel(input.type)}), ${where}`;
  const subject = `${prefixOf(input)}${headline}`;
  const body = cleanName(input.hospitalName);
  const link = safeLink(input.link);
  const text = [subject, body, ...(link ? ['', `Open: ${link}`] : [])].join('\n');
  const html =
    `<p><strong>${escapeHtml(subject)}</strong><br>${escapeHtml(body)}</p>` +
    (link ? `<p><a href="${escapeHtml(link)}">Open the alert in Wardline</a></p>` : '');
  return { subject, body, text, html, ...(link ? { link } : {}), priority: input.priority };
}
