import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';
import { PageQuery } from '../../platform/http/pagination.js';
import { plainText } from '../../platform/http/text.js';
import { APPOINTMENT_STATUSES } from './appointments.schema.js';

/** An instant: ISO 8601 with a time zone offset (`Z` or `+02:00`); a local time without one is ambiguous. */
const Instant = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .meta({ example: '2026-03-02T09:30:00+01:00' });

/** A calendar day, YYYY-MM-DD. */
const Day = z.iso.date().meta({ example: '2026-03-02' });

const Reason = plainText(1, 500).describe('Why the patient comes (shown on day sheets).');

export const Appointment = z
  .object({
    id: z.string(),
    patientId: z.string(),
    practitionerId: z.string().describe('The doctor or nurse the appointment is with (a user id).'),
    hospitalId: z.string().nullable().describe("The room's hospital; null without a room."),
    roomId: z.string().nullable(),
    start: z.date(),
    end: z.date(),
    reason: z.string().nullable(),
    status: z.enum(APPOINTMENT_STATUSES),
    cancelReason: z.string().nullable(),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Appointment' });
export type Appointment = z.infer<typeof Appointment>;

export const BookAppointment = z.strictObject({
  patientId: RecordId,
  practitionerId: RecordId.describe('A member of the organization with the role doctor or nurse.'),
  roomId: RecordId.optional(),
  start: Instant,
  end: Instant.describe('After start, at most 24 hours later.'),
  reason: Reason.optional(),
});
export type BookAppointment = z.infer<typeof BookAppointment>;

export const RescheduleAppointment = z
  .strictObject({
    start: Instant.optional(),
    end: Instant.optional(),
    roomId: RecordId.nullable().optional().describe('Another room, or null for none.'),
    practitionerId: RecordId.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'give at least one of start and end, roomId, practitionerId')
  .refine((body) => (body.start === undefined) === (body.end === undefined), {
    message: 'give start and end together',
    path: ['end'],
  });
export type RescheduleAppointment = z.infer<typeof RescheduleAppointment>;

export const CancelAppointment = z.strictObject({
  reason: plainText(1, 500).describe('Why it is cancelled (kept as cancelReason).'),
});

export const AppointmentFilter = PageQuery.extend({
  day: Day.optional().describe('Appointments starting on this UTC day (use from/to for a local day).'),
  from: Instant.optional().describe('Appointments starting at or after this instant.'),
  to: Instant.optional().describe('Appointments starting before this instant.'),
  practitionerId: RecordId.optional(),
  patientId: RecordId.optional(),
  roomId: RecordId.optional(),
  status: z.enum(APPOINTMENT_STATUSES).optional(),
}).refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type AppointmentFilter = z.infer<typeof AppointmentFilter>;

export const UnitDayQuery = PageQuery.extend({
  day: Day.describe("The day, in the time zone of the unit's hospital."),
  status: z.enum(APPOINTMENT_STATUSES).optional(),
});
export type UnitDayQuery = z.infer<typeof UnitDayQuery>;
