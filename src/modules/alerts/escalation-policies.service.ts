import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { AlertsRepository, type PolicyRow } from './alerts.repository.js';
import type { EscalationPolicyBody } from './alerts.shapes.js';
import { DEFAULT_CHANNELS, DEFAULT_POLICY } from './escalation-policy.js';

export interface EscalationPoliciesDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** Whether a webhook URL may be called (channels/webhook.ts checkWebhookUrl, with the server's settings). */
  checkWebhookUrl(url: string): { ok: true } | { ok: false; reason: string };
}

/** A policy as the API shows it: the webhook by host only (its path is often its secret). */
function policyView(hospitalId: string, row: PolicyRow | undefined) {
  return {
    hospitalId,
    rules: row?.rules ?? DEFAULT_POLICY.rules,
    ackTimeoutSeconds: row?.ackTimeoutSeconds ?? DEFAULT_POLICY.ackTimeoutSeconds,
    channels: { ...DEFAULT_CHANNELS, ...row?.channels },
    webhook: row?.webhookUrl ? { host: new URL(row.webhookUrl).host } : null,
    isDefault: row === undefined,
    updatedAt: row?.updatedAt ?? null,
  };
}

/**
 * Each hospital's escalation policy: its steps per urgency, acknowledgement timeout, default channels
 * and webhook. An alert freezes the policy when it is raised, so an edit reaches only later alerts.
 */
export class EscalationPoliciesService {
  constructor(private readonly deps: EscalationPoliciesDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** The hospital's escalation policy (the default if it has none). */
  policy(ctx: TenantContext, hospitalId: string) {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      await this.checkHospital(repo, hospitalId);
      const row = await repo.policyOf(hospitalId);
      work.audit({ action: 'escalation-policies.read', resourceType: 'hospital', resourceId: hospitalId });
      return policyView(hospitalId, row);
    });
  }

  /** Sets the hospital's policy for alerts raised from now on (running alerts keep theirs). */
  savePolicy(ctx: TenantContext, hospitalId: string, body: EscalationPolicyBody) {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      await this.checkHospital(repo, hospitalId);
      const current = await repo.policyOf(hospitalId);
      if (body.webhookUrl) {
        const check = this.deps.checkWebhookUrl(body.webhookUrl);
        if (!check.ok) {
          throw new AppError('VALIDATION_FAILED', 'the webhook URL is refused', [
            { path: 'body.webhookUrl', message: check.reason },
          ]);
        }
      }
      const at = this.deps.now();
      const row = await repo.savePolicy(
        hospitalId,
        {
          rules: [...body.rules].sort((a, b) => b.urgency - a.urgency),
          ackTimeoutSeconds: body.ackTimeoutSeconds,
          // Absent: unchanged (the API never shows the URL back, so a read-modify-write must keep it); null: removed.
          channels: body.channels === undefined ? (current?.channels ?? null) : body.channels,
          webhookUrl: body.webhookUrl === undefined ? (current?.webhookUrl ?? null) : body.webhookUrl,
        },
        ctx.user.id,
        at,
      );
      work.audit({ action: 'escalation-policies.update', resourceType: 'hospital', resourceId: hospitalId });
      return policyView(hospitalId, row);
    });
  }

  private async checkHospital(repo: AlertsRepository, hospitalId: string) {
    if (!(await repo.hospitalExists(hospitalId))) throw new AppError('NOT_FOUND', 'hospital not found');
  }
}
