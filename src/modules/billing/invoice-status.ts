export const INVOICE_STATUSES = ['draft', 'issued', 'paid', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export const INVOICE_KINDS = ['invoice', 'credit-note'] as const;
export type InvoiceKind = (typeof INVOICE_KINDS)[number];

/** What can be done to an invoice; each is one route and one audit action (`invoices.<action>`). */
export const INVOICE_ACTIONS = ['update', 'issue', 'void', 'pay', 'settle', 'refund', 'credit'] as const;
export type InvoiceAction = (typeof INVOICE_ACTIONS)[number];

/**
 * The status machine, whole: for each status, the actions allowed and the status each leads to.
 * Anything not listed is refused with 409 naming the current status.
 *
 *   draft ──issue──> issued ──pay / credit (balance reaches 0)──> paid
 *     │                │  ^                                         │
 *     │                │  └──────────────── refund ─────────────────┘
 *     └──void──> void <┘ (only with nothing paid or credited)
 *
 * `pay` and `credit` keep an invoice issued while a balance remains (`settle` is the one that brings
 * it to 0: paid). A refund of a paid invoice reopens it (issued, with a balance). Only drafts change;
 * issued invoices are corrected with credit notes. Paid and void are final, except a paid invoice's
 * refund. Credit notes are issued when made and take none of these actions.
 */
export const INVOICE_MACHINE: Record<InvoiceStatus, Partial<Record<InvoiceAction, InvoiceStatus>>> = {
  draft: { update: 'draft', issue: 'issued', void: 'void' },
  issued: { pay: 'issued', settle: 'paid', refund: 'issued', credit: 'issued', void: 'void' },
  paid: { refund: 'issued' },
  void: {},
};

/** The status `action` leads to from `status`, or undefined when the machine does not allow it. */
export function nextInvoiceStatus(status: InvoiceStatus, action: InvoiceAction): InvoiceStatus | undefined {
  return INVOICE_MACHINE[status][action];
}

/** The statuses `action` is allowed from: the condition of the action's atomic UPDATE. */
export function invoiceStatusesAllowing(action: InvoiceAction): InvoiceStatus[] {
  return INVOICE_STATUSES.filter((status) => INVOICE_MACHINE[status][action] !== undefined);
}

export function isInvoiceStatus(value: string): value is InvoiceStatus {
  return (INVOICE_STATUSES as readonly string[]).includes(value);
}

/** "it cannot be issued": each action in the words of the 409. */
export const INVOICE_ACTION_WORDS: Record<InvoiceAction, string> = {
  update: 'changed',
  issue: 'issued',
  void: 'voided',
  pay: 'paid',
  settle: 'paid',
  refund: 'refunded',
  credit: 'credited',
};
