import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { EVENT_COUNTER, fromStored, toAlert } from './alert-news.js';
import { AlertNewsRepository } from './alert-news.repository.js';
import { AlertsRepository } from './alerts.repository.js';
import type { AlertDetail, AlertEvent, AlertEventsQuery, AlertEventType, AlertQuery } from './alerts.shapes.js';

export interface AlertReadsDependencies {
  uow: Pick<UnitOfWork, 'read'>;
}

/**
 * The read side of clinical alerts: one alert with its timeline, the list, the count the dashboard
 * shows, and the numbered event feed real-time clients resynchronise from. Each read is audited
 * (with the alert's patient where it has one); the count names no alert and is not.
 */
export class AlertReadsService {
  constructor(private readonly deps: AlertReadsDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** One alert with its location and timeline; audited with its patient. */
  get(ctx: TenantContext, id: string): Promise<AlertDetail> {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(AlertsRepository);
      const row = await repo.find(id);
      if (!row) throw new AppError('NOT_FOUND', 'alert not found');
      const location = (await repo.location(row.hospitalId, row.unitId, row.roomId))!;
      const timeline = await work.repo(AlertNewsRepository).timelineOf(id);
      work.audit({ action: 'alerts.read', resourceType: 'alert', resourceId: id, patientId: row.patientId });
      return {
        ...toAlert(row),
        location: { hospitalName: location.hospitalName, unitName: location.unitName, roomName: location.roomName },
        timeline: timeline.map((entry) => ({
          id: entry.id,
          type: entry.type,
          actorId: entry.actorId,
          detail: entry.detail ?? null,
          at: entry.createdAt,
        })),
      };
    });
  }

  /** Alerts, newest first (open ones unless a status is asked for). */
  list(ctx: TenantContext, query: AlertQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(AlertsRepository)
        .list(
          { status: query.status, hospitalId: query.hospitalId, unitId: query.unit },
          query.limit,
          decodeCursor(query.cursor),
        );
      const page = toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toAlert);
      for (const alert of page.data.filter((a) => a.patientId)) {
        work.audit({ action: 'alerts.list', resourceType: 'alert', resourceId: alert.id, patientId: alert.patientId });
      }
      if (!page.data.some((a) => a.patientId)) work.audit({ action: 'alerts.list', resourceType: 'alert' });
      return page;
    });
  }

  /** Open alerts of the organization or one hospital, for the dashboard (a count: nothing to audit). */
  countActive(ctx: TenantContext, hospitalId: string | null): Promise<number> {
    return this.uow.read(ctx, (work) => work.repo(AlertsRepository).countOpen(hospitalId));
  }

  /**
   * The events after `after` (or the cursor), oldest first: what a reconnecting client missed; `pruned`
   * when some of them are older than the retention and gone (the client reloads the alerts instead).
   */
  events(ctx: TenantContext, query: AlertEventsQuery) {
    return this.uow.read(ctx, async (work) => {
      const after = query.cursor === undefined ? query.after : Number(query.cursor);
      const news = work.repo(AlertNewsRepository);
      const rows = await news.eventsAfter(after, query.limit);
      // Asked on the first page only: the next pages continue from events that are kept.
      const pruned = query.cursor === undefined && (await news.prunedAfter(after, EVENT_COUNTER));
      const more = rows.length > query.limit;
      const data: AlertEvent[] = rows.slice(0, query.limit).map((row) => ({
        seq: row.seq,
        type: row.type as AlertEventType,
        alert: fromStored(row.alert),
        at: row.createdAt,
      }));
      work.audit({ action: 'alerts.events', resourceType: 'alert' });
      return { data, nextCursor: more ? String(data.at(-1)!.seq) : null, pruned };
    });
  }
}
