import { APPOINTMENT_STATUSES } from './appointments.schema.js';

export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

/** What can be done to an appointment; each is one route and one audit action (`appointments.<action>`). */
export const APPOINTMENT_ACTIONS = ['reschedule', 'check-in', 'start', 'complete', 'cancel', 'no-show'] as const;
export type AppointmentAction = (typeof APPOINTMENT_ACTIONS)[number];

/**
 * The status machine, whole: for each status, the actions allowed and the status each leads to.
 * Anything not listed is refused with 409 naming the current status.
 *
 *   booked ──check-in──> checked-in ──start──> in-progress ──complete──> completed
 *     │ └──no-show──> no-show            │
 *     └──cancel──> cancelled <──cancel───┘
 *
 * A checked-in patient may still be cancelled (they leave before being seen); once the visit has
 * started it can only be completed. Rescheduling (times, room, practitioner) is for booked
 * appointments only. Completed, cancelled and no-show are final; cancelled and no-show free the slot.
 */
export const APPOINTMENT_MACHINE: Record<AppointmentStatus, Partial<Record<AppointmentAction, AppointmentStatus>>> = {
  booked: { reschedule: 'booked', 'check-in': 'checked-in', cancel: 'cancelled', 'no-show': 'no-show' },
  'checked-in': { start: 'in-progress', cancel: 'cancelled' },
  'in-progress': { complete: 'completed' },
  completed: {},
  cancelled: {},
  'no-show': {},
};

/** The status `action` leads to from `status`, or undefined when the machine does not allow it. */
export function nextStatus(status: AppointmentStatus, action: AppointmentAction): AppointmentStatus | undefined {
  return APPOINTMENT_MACHINE[status][action];
}

export function isAppointmentStatus(value: string): value is AppointmentStatus {
  return (APPOINTMENT_STATUSES as readonly string[]).includes(value);
}
