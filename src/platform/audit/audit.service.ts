import type { UnitOfWork } from '../db/unit-of-work.js';
import { decodeCursor, type PageQuery, toPage } from '../http/pagination.js';
import type { TenantContext } from '../tenancy/context.js';
import { type AuditFilter, AuditRepository, type AuditRow } from './audit.repository.js';
import { type ChainReport, verifyChain } from './audit-verify.js';

const EXPORT_BATCH = 1_000;

/**
 * A list event names every patient of its page; filtered by one patient, the trail names that one only
 * (such a selection is what a patient's access report is made from, and it shows no other patient).
 */
function onlyFilteredPatient(filter: AuditFilter): (row: AuditRow) => AuditRow {
  const { patientId } = filter;
  if (patientId === undefined) return (row) => row;
  return (row) => (row.patientIds === null ? row : { ...row, patientIds: [patientId] });
}

/** Reading an organization's audit trail; every reading is itself on the trail. */
export class AuditService {
  constructor(private readonly uow: Pick<UnitOfWork, 'read'>) {}

  list(ctx: TenantContext, filter: AuditFilter, page: PageQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(AuditRepository).list(filter, page.limit, decodeCursor(page.cursor));
      work.audit({ action: 'audit.read', resourceType: 'audit-events' });
      return toPage(
        rows,
        page.limit,
        (row) => ({ sort: row.occurredAt.toISOString(), id: row.id }),
        onlyFilteredPatient(filter),
      );
    });
  }

  /** Every matching event, oldest first, in batches: memory stays flat whatever the size. Recorded before the first row. */
  async export(ctx: TenantContext, filter: AuditFilter): Promise<AsyncGenerator<AuditRow>> {
    const repo = await this.uow.read(ctx, async (work) => {
      work.audit({ action: 'audit.export', resourceType: 'audit-events' });
      return work.repo(AuditRepository);
    });
    return (async function* rows() {
      let after: { occurredAt: Date; id: string } | undefined;
      for (;;) {
        const batch = await repo.batch(filter, EXPORT_BATCH, after);
        yield* batch.map(onlyFilteredPatient(filter));
        if (batch.length < EXPORT_BATCH) return;
        const last = batch[batch.length - 1]!;
        after = { occurredAt: last.occurredAt, id: last.id };
      }
    })();
  }

  verify(ctx: TenantContext): Promise<ChainReport> {
    return this.uow.read(ctx, async (work) => {
      const report = await verifyChain(work.db, ctx.organizationId);
      work.audit({ action: 'audit.verify', resourceType: 'audit-events' });
      return report;
    });
  }
}
