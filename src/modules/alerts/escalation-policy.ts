/**
 * Escalation policies and the arithmetic of an alert's schedule. Pure: no clock, no database.
 *
 * Tier 1 is notified when the alert is raised. `delaysSeconds[i]` is when, counted from the raise,
 * step i + 1 fires: it notifies the next tier, and steps past the last tier notify the last tier
 * again. After the last step nothing more is timed (the alert stays active and on every board); an
 * acknowledged alert that is not resolved within `ackTimeoutSeconds` escalates again.
 */
import type { Role } from '../../platform/permissions.js';
import type { FrozenPolicy } from './alerts.schema.js';

export const ALERT_TYPES = ['fall', 'code-blue', 'pain', 'assistance', 'equipment', 'critical-lab', 'other'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export type Priority = 'high' | 'medium' | 'low';

/** Urgency 5 is high, 3-4 medium, 1-2 low. */
export function priorityOf(urgency: number): Priority {
  return urgency >= 5 ? 'high' : urgency >= 3 ? 'medium' : 'low';
}

export interface EscalationRule {
  urgency: number;
  delaysSeconds: number[];
}

export interface EscalationPolicy {
  rules: EscalationRule[];
  ackTimeoutSeconds: number;
}

/** The channels besides in-app and the socket (always on), chosen per urgency. */
export const OUTSIDE_CHANNELS = ['email', 'push'] as const;
export type OutsideChannel = (typeof OUTSIDE_CHANNELS)[number];
/** Urgency ("1".."5") -> the outside channels that carry it. */
export type ChannelChoice = Partial<Record<'1' | '2' | '3' | '4' | '5', OutsideChannel[]>>;

/** What a hospital that has not chosen sends: push and email for 4-5, push for 3, the app alone for 1-2. */
export const DEFAULT_CHANNELS: Required<ChannelChoice> = {
  '5': ['push', 'email'],
  '4': ['push', 'email'],
  '3': ['push'],
  '2': [],
  '1': [],
};

/** The outside channels for one person and urgency: theirs, else the hospital's, else the default. */
export function channelsFor(urgency: number, person: ChannelChoice | null, hospital: ChannelChoice | null) {
  const key = String(urgency) as keyof ChannelChoice;
  return person?.[key] ?? hospital?.[key] ?? DEFAULT_CHANNELS[key];
}

const minutes = (...values: number[]) => values.map((m) => m * 60);

/** The policy of a hospital that has not set its own. */
export const DEFAULT_POLICY: EscalationPolicy = {
  rules: [
    { urgency: 5, delaysSeconds: minutes(5, 10, 15) },
    { urgency: 4, delaysSeconds: minutes(10, 20, 30) },
    { urgency: 3, delaysSeconds: minutes(15, 30, 45) },
    { urgency: 2, delaysSeconds: minutes(30, 60, 90) },
    { urgency: 1, delaysSeconds: minutes(60) },
  ],
  ackTimeoutSeconds: 15 * 60,
};

/** Who each tier reaches among the staff on duty: each tier adds a role. */
export const TIER_ROLES: Record<1 | 2 | 3, readonly Role[]> = {
  1: ['nurse'],
  2: ['nurse', 'doctor'],
  3: ['nurse', 'doctor', 'manager'],
};
export const LAST_TIER = 3;

/** The tier a step notifies: step 0 (the raise) tier 1, step k tier k + 1, never past the last. */
export function tierOfStep(step: number): 1 | 2 | 3 {
  return Math.min(step + 1, LAST_TIER) as 1 | 2 | 3;
}

/** The rule for an urgency: the policy's, else the default's. */
function ruleFor(policy: EscalationPolicy, urgency: number): EscalationRule {
  return (
    policy.rules.find((rule) => rule.urgency === urgency) ??
    DEFAULT_POLICY.rules.find((rule) => rule.urgency === urgency)!
  );
}

/** What an alert of this urgency keeps of the policy: later edits of the policy never reach it. */
export function freeze(policy: EscalationPolicy, urgency: number): FrozenPolicy {
  return { delaysSeconds: [...ruleFor(policy, urgency).delaysSeconds], ackTimeoutSeconds: policy.ackTimeoutSeconds };
}

/**
 * When the step after `step` (steps fired so far) is due, counted from the raise; null after the last
 * step. A time already past (the engine was down) fires at once.
 */
export function nextStepAt(policy: FrozenPolicy, raisedAt: Date, step: number): Date | null {
  const delay = policy.delaysSeconds[step];
  return delay === undefined ? null : new Date(raisedAt.getTime() + delay * 1000);
}

/**
 * When the step after `step` is due for an alert that was paused (acknowledged, silenced) and is
 * active again at `now`: its scheduled time, but never sooner than that step's own interval from
 * now, so a long pause does not fire the missed steps back to back. Null after the last step.
 */
export function resumeAt(policy: FrozenPolicy, raisedAt: Date, step: number, now: Date): Date | null {
  const scheduled = nextStepAt(policy, raisedAt, step);
  if (!scheduled) return null;
  const interval = policy.delaysSeconds[step]! - (step > 0 ? policy.delaysSeconds[step - 1]! : 0);
  return new Date(Math.max(scheduled.getTime(), now.getTime() + interval * 1000));
}

/** Problems of a policy a client sends, as paths and messages (none: it is valid). */
export function policyProblems(policy: EscalationPolicy): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<number>();
  policy.rules.forEach((rule, i) => {
    if (seen.has(rule.urgency)) problems.push({ path: `rules.${i}.urgency`, message: 'is given twice' });
    seen.add(rule.urgency);
    rule.delaysSeconds.forEach((delay, j) => {
      if (j > 0 && delay <= rule.delaysSeconds[j - 1]!) {
        problems.push({ path: `rules.${i}.delaysSeconds.${j}`, message: 'must be later than the step before it' });
      }
    });
  });
  return problems;
}
