/** The statuses a lab order can be in, in the order an order goes through them (cancelled aside). */
export const LAB_ORDER_STATUSES = ['ordered', 'collected', 'in-progress', 'resulted', 'reviewed', 'cancelled'] as const;
export type LabOrderStatus = (typeof LAB_ORDER_STATUSES)[number];

/** What can be done to a lab order; each is one route and one audit action (`lab-orders.<action>`). */
export const LAB_ORDER_ACTIONS = ['collect', 'start', 'result', 'review', 'cancel'] as const;
export type LabOrderAction = (typeof LAB_ORDER_ACTIONS)[number];

/**
 * The status machine, whole: for each status, the actions allowed and the status each leads to.
 * Anything not listed is refused with 409 naming the current status and the one asked for.
 *
 *   ordered ──collect──> collected ──start──> in-progress ──result──> resulted ──review──> reviewed
 *     │                    │                    │
 *     └──────cancel────────┴───────cancel───────┴──> cancelled
 *
 * Cancelling is possible until there is a result; a result is final (it is reviewed, not undone).
 * Nothing is done twice: a second collect, result or review is a 409 too, so every step is on the
 * timeline exactly once, by whoever did it first.
 */
export const LAB_ORDER_MACHINE: Record<LabOrderStatus, Partial<Record<LabOrderAction, LabOrderStatus>>> = {
  ordered: { collect: 'collected', cancel: 'cancelled' },
  collected: { start: 'in-progress', cancel: 'cancelled' },
  'in-progress': { result: 'resulted', cancel: 'cancelled' },
  resulted: { review: 'reviewed' },
  reviewed: {},
  cancelled: {},
};

/** The status each action leads to (the same from wherever it is allowed). */
export const ACTION_TARGET: Record<LabOrderAction, LabOrderStatus> = {
  collect: 'collected',
  start: 'in-progress',
  result: 'resulted',
  review: 'reviewed',
  cancel: 'cancelled',
};

/** The status `action` leads to from `status`, or undefined when the machine does not allow it. */
export function nextStatus(status: LabOrderStatus, action: LabOrderAction): LabOrderStatus | undefined {
  return LAB_ORDER_MACHINE[status][action];
}

/** The statuses `action` is allowed from. */
export function allowedFrom(action: LabOrderAction): LabOrderStatus[] {
  return LAB_ORDER_STATUSES.filter((status) => LAB_ORDER_MACHINE[status][action] !== undefined);
}

export function isLabOrderStatus(value: string): value is LabOrderStatus {
  return (LAB_ORDER_STATUSES as readonly string[]).includes(value);
}
