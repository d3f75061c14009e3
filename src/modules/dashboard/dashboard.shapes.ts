import { z } from 'zod';
import { RecordId } from '../../platform/http/ids.js';

const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-11-23')
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'is not a real date');

export const DashboardQuery = z.strictObject({
  hospitalId: RecordId.optional().describe('Only this hospital (its time zone decides what "today" is).'),
  date: IsoDate.optional().describe("The day to count appointments for (default: today in the hospital's zone)."),
});
export type DashboardQuery = z.infer<typeof DashboardQuery>;

const Count = z.number().int().nonnegative();

export const DashboardStats = z.object({
  hospitalId: z.string().nullable(),
  date: z.string().describe('The day appointments are counted for.'),
  timezone: z.string().describe('The time zone that day is in.'),
  patients: z.object({ active: Count }),
  appointments: z.object({
    total: Count,
    byStatus: z
      .record(z.string(), Count)
      .describe('Appointments of the day by status (statuses with none are left out).'),
  }),
  openEncounters: Count,
  labResults: z.object({
    pending: Count.describe('Ordered, collected or in progress: waiting for a result.'),
    critical: Count.describe('Critical results not yet reviewed.'),
  }),
  lowStockItems: Count.describe('Location and medication pairs at or below their low-stock threshold.'),
  unpaidInvoices: z.object({
    count: Count,
    total: z.string().describe('Balance due of issued invoices, a decimal string.'),
  }),
  activeAlerts: Count.describe('Open clinical alerts (0 until clinical alerts are enabled).'),
  unstaffedUnits: z
    .array(
      z.object({
        unitId: z.string(),
        unitName: z.string(),
        missing: z
          .array(z.enum(['nurse', 'doctor']))
          .describe('Alert tiers 1 (nurses) and 2 (doctors) with nobody on duty.'),
      }),
    )
    .describe(
      'Active units where an alert would find no nurse or no doctor on duty now: a warning before an alert needs them (an alert that reaches nobody goes to every manager).',
    ),
  generatedAt: z.date(),
});
export type DashboardStats = z.infer<typeof DashboardStats>;
