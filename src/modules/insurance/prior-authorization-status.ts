export const PRIOR_AUTH_STATUSES = ['draft', 'submitted', 'approved', 'denied'] as const;
export type PriorAuthStatus = (typeof PRIOR_AUTH_STATUSES)[number];

/** What can be done to a prior authorization; each is one route and one audit action. */
export const PRIOR_AUTH_ACTIONS = ['submit', 'approve', 'deny'] as const;
export type PriorAuthAction = (typeof PRIOR_AUTH_ACTIONS)[number];

/**
 * The status machine, whole; anything not listed is refused with 409 naming the current status.
 *
 *   draft ──submit──> submitted ──approve──> approved
 *                         └──────deny──────> denied
 *
 * Approved and denied are final: a new request for the prescription is a new draft (one open, draft
 * or submitted, at a time).
 */
export const PRIOR_AUTH_MACHINE: Record<PriorAuthStatus, Partial<Record<PriorAuthAction, PriorAuthStatus>>> = {
  draft: { submit: 'submitted' },
  submitted: { approve: 'approved', deny: 'denied' },
  approved: {},
  denied: {},
};

/** The statuses in which a request is still open (at most one per prescription). */
export const OPEN_PRIOR_AUTH_STATUSES: PriorAuthStatus[] = ['draft', 'submitted'];

export function nextPriorAuthStatus(status: PriorAuthStatus, action: PriorAuthAction): PriorAuthStatus | undefined {
  return PRIOR_AUTH_MACHINE[status][action];
}

export function isPriorAuthStatus(value: string): value is PriorAuthStatus {
  return (PRIOR_AUTH_STATUSES as readonly string[]).includes(value);
}

/** "it cannot be approved": each action in the words of the 409. */
export const PRIOR_AUTH_ACTION_WORDS: Record<PriorAuthAction, string> = {
  submit: 'submitted',
  approve: 'approved',
  deny: 'denied',
};
