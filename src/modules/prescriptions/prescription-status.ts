/** The statuses a prescription goes through. */
export const PRESCRIPTION_STATUSES = ['active', 'completed', 'cancelled'] as const;
export type PrescriptionStatus = (typeof PRESCRIPTION_STATUSES)[number];

/** What can be done to a prescription by hand; each is one route and one audit action (`prescriptions.<action>`). */
export const PRESCRIPTION_ACTIONS = ['complete', 'cancel'] as const;
export type PrescriptionAction = (typeof PRESCRIPTION_ACTIONS)[number];

/**
 * The status machine, whole. Anything not listed is refused with 409 naming the current status.
 *
 *   active ──complete──> completed   (also on its own, once everything allowed has been dispensed)
 *     └────cancel──────> cancelled   (with a reason)
 *
 * Completed and cancelled are final: nothing more is dispensed against them.
 */
export const PRESCRIPTION_MACHINE: Record<
  PrescriptionStatus,
  Partial<Record<PrescriptionAction, PrescriptionStatus>>
> = {
  active: { complete: 'completed', cancel: 'cancelled' },
  completed: {},
  cancelled: {},
};

/** The status `action` leads to from `status`, or undefined when the machine does not allow it. */
export function nextStatus(status: string, action: PrescriptionAction): PrescriptionStatus | undefined {
  return isPrescriptionStatus(status) ? PRESCRIPTION_MACHINE[status][action] : undefined;
}

export function isPrescriptionStatus(value: string): value is PrescriptionStatus {
  return (PRESCRIPTION_STATUSES as readonly string[]).includes(value);
}
