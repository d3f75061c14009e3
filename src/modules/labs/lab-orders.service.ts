import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { flagOf, isCritical, type LabFlag, type LabRanges } from './lab-flag.js';
import { ACTION_TARGET, allowedFrom, isLabOrderStatus, type LabOrderAction, nextStatus } from './lab-order-status.js';
import { rangesOfTest } from './lab-tests.service.js';
import {
  type LabOrderChanges,
  type LabOrderEventRow,
  LabOrdersRepository,
  type LabOrderWithTest,
  LabTestsRepository,
} from './labs.repository.js';
import type {
  CreateLabOrder,
  LabOrder,
  LabOrderDetail,
  LabOrderEvent,
  LabOrderQuery,
  RecordLabResult,
} from './labs.shapes.js';

/**
 * A critical result, for the clinical alerts module to turn into an alert: ids only (no value, no
 * name), so that the outbox table and whatever carries the message hold no clinical data.
 */
export interface LabResultCritical {
  organizationId: string;
  orderId: string;
  patientId: string;
  testId: string;
  flag: 'critical-low' | 'critical-high';
  encounterId: string | null;
}

declare module '../../platform/outbox/outbox.js' {
  interface OutboxTopics {
    'lab.result.critical': LabResultCritical;
  }
}

export const LAB_RESULT_CRITICAL = 'lab.result.critical' as const;

/** What this module needs of an encounter (the encounters module's `get`). */
export interface EncounterSummary {
  patientId: string;
  status: string;
}

export interface LabOrdersDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** Whether the patient is in the caller's organization and active (app.patients). */
  patientState(ctx: TenantContext, patientId: string): Promise<'active' | 'archived' | 'missing'>;
  /** An encounter of the caller's organization (app.encounters.get), or undefined. */
  encounter(ctx: TenantContext, id: string): Promise<EncounterSummary | undefined>;
}

/** The timeline entry each action appends. */
const EVENT_OF: Record<LabOrderAction, string> = {
  collect: 'collected',
  start: 'started',
  result: 'resulted',
  review: 'reviewed',
  cancel: 'cancelled',
};

/**
 * Where each kind of entry comes on a timeline: the machine is a line, so this orders the entries of
 * one order even when two carry the same instant (a result and its escalation, written together).
 */
const TIMELINE_RANK: Record<string, number> = {
  ordered: 0,
  collected: 1,
  started: 2,
  resulted: 3,
  'escalation-requested': 4,
  reviewed: 5,
  cancelled: 6,
};

const PAST: Record<LabOrderAction, string> = {
  collect: 'collected',
  start: 'started',
  result: 'resulted',
  review: 'reviewed',
  cancel: 'cancelled',
};

export function toLabOrder(row: LabOrderWithTest): LabOrder {
  // Statuses are only written through the machine; anything else is corruption.
  if (!isLabOrderStatus(row.status)) throw new Error(`lab order ${row.id} has an unknown status`);
  const resulted = row.resultValue !== null && row.resultedAt !== null && row.resultedBy !== null;
  return {
    id: row.id,
    patientId: row.patientId,
    encounterId: row.encounterId,
    testId: row.testId,
    test: row.test,
    orderedBy: row.orderedBy,
    priority: row.priority as LabOrder['priority'],
    status: row.status,
    notes: row.notes,
    collectedAt: row.collectedAt,
    collectedBy: row.collectedBy,
    startedAt: row.startedAt,
    result: resulted
      ? {
          value: row.resultValue!,
          unit: row.resultUnit!,
          flag: row.resultFlag as LabFlag | null,
          ranges: row.resultRanges as unknown as LabRanges,
          resultedAt: row.resultedAt!,
          resultedBy: row.resultedBy!,
        }
      : null,
    reviewedAt: row.reviewedAt,
    reviewedBy: row.reviewedBy,
    cancelledAt: row.cancelledAt,
    cancelReason: row.cancelReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const toEvent = (row: LabOrderEventRow): LabOrderEvent => ({
  id: row.id,
  type: row.type,
  actorId: row.actorId,
  detail: row.detail ?? null,
  at: row.createdAt,
});

function byTimeline(a: LabOrderEventRow, b: LabOrderEventRow): number {
  const time = a.createdAt.getTime() - b.createdAt.getTime();
  if (time !== 0) return time;
  return (TIMELINE_RANK[a.type] ?? 99) - (TIMELINE_RANK[b.type] ?? 99) || a.id.localeCompare(b.id);
}

const notFound = (what: string, field: string) =>
  new AppError('NOT_FOUND', `${what} not found`, [{ path: `body.${field}`, message: `${what} not found` }]);

// A reference the database refused (SQLSTATE 23503), by the constraint that refused it.
const MISSING: Record<string, [string, string]> = {
  lab_orders_patient_fk: ['patient', 'patientId'],
  lab_orders_encounter_fk: ['encounter', 'encounterId'],
  lab_orders_test_fk: ['lab test', 'testId'],
};

/** What a step changes on the order, and what its timeline entry says. */
interface Step {
  changes: LabOrderChanges;
  detail?: Record<string, unknown>;
}

/**
 * Lab orders: placing them, the status machine (collect, start, result, review, cancel), the flag of a
 * result and the escalation of a critical one. Every read and change is audited with the patient;
 * every step appends a row to the order's timeline with who took it.
 */
export class LabOrdersService {
  constructor(private readonly deps: LabOrdersDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** Places an order for an active patient and an active test (in an open encounter of theirs, if given). */
  create(ctx: TenantContext, input: CreateLabOrder): Promise<LabOrder> {
    const write = this.uow.write(ctx, async (work) => {
      await this.checkPatient(ctx, input.patientId);
      if (input.encounterId) await this.checkEncounter(ctx, input.encounterId, input.patientId);
      const test = await work.repo(LabTestsRepository).find(input.testId);
      if (!test) throw notFound('lab test', 'testId');
      if (!test.active) throw new AppError('CONFLICT', 'the lab test is deactivated: it takes no new orders');
      const at = this.deps.now();
      const repo = work.repo(LabOrdersRepository);
      const row = await repo.insert({
        patientId: input.patientId,
        encounterId: input.encounterId ?? null,
        testId: input.testId,
        orderedBy: ctx.user.id,
        priority: input.priority,
        notes: input.notes ?? null,
        at,
      });
      await repo.appendEvent({
        orderId: row.id,
        type: 'ordered',
        actorId: ctx.user.id,
        detail: { priority: row.priority },
        at,
      });
      work.audit({
        action: 'lab-orders.create',
        resourceType: 'lab-order',
        resourceId: row.id,
        patientId: row.patientId,
      });
      return toLabOrder({ ...row, test: { code: test.code, name: test.name, unit: test.unit } });
    });
    return write.catch((error: unknown) => {
      const { code, constraint } = databaseError(error);
      const missing = code === '23503' && constraint ? MISSING[constraint] : undefined;
      if (missing) throw notFound(missing[0], missing[1]);
      throw error;
    });
  }

  /** One order with its timeline; a read of patient data, audited. */
  get(ctx: TenantContext, id: string): Promise<LabOrderDetail> {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(LabOrdersRepository);
      const row = await repo.findWithTest(id);
      if (!row) throw new AppError('NOT_FOUND', 'lab order not found');
      const events = await repo.eventsOf(id);
      work.audit({ action: 'lab-orders.read', resourceType: 'lab-order', resourceId: id, patientId: row.patientId });
      return { ...toLabOrder(row), timeline: events.sort(byTimeline).map(toEvent) };
    });
  }

  /** Orders in the order they were placed; one audit event per order listed (an empty page: one for the list). */
  list(ctx: TenantContext, query: LabOrderQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(LabOrdersRepository)
        .list(
          { patientId: query.patientId, encounterId: query.encounterId, status: query.status, flag: query.flag },
          query.limit,
          decodeCursor(query.cursor),
        );
      const page = toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toLabOrder);
      for (const order of page.data) {
        work.audit({
          action: 'lab-orders.list',
          resourceType: 'lab-order',
          resourceId: order.id,
          patientId: order.patientId,
        });
      }
      if (page.data.length === 0) {
        work.audit({ action: 'lab-orders.list', resourceType: 'lab-order', patientId: query.patientId ?? null });
      }
      return page;
    });
  }

  /** The specimen is taken. */
  collect(ctx: TenantContext, id: string) {
    return this.step(ctx, id, 'collect', async () => ({
      changes: { collectedAt: this.deps.now(), collectedBy: ctx.user.id },
    }));
  }

  /** The lab starts on the specimen. */
  start(ctx: TenantContext, id: string) {
    return this.step(ctx, id, 'start', async () => ({ changes: { startedAt: this.deps.now() } }));
  }

  /**
   * Records the result, in the test's unit, with its flag computed from the test's ranges as they are
   * now (kept with the result). A critical result is escalated in the same transaction: a timeline
   * entry and a `lab.result.critical` message in the outbox, or neither if the result is not recorded.
   */
  recordResult(ctx: TenantContext, id: string, input: RecordLabResult) {
    return this.step(ctx, id, 'result', async (work, order) => {
      const test = await work.repo(LabTestsRepository).find(order.testId);
      if (!test) throw new Error(`lab order ${order.id} refers to a missing test`);
      if (input.unit !== test.unit) {
        throw new AppError('VALIDATION_FAILED', `the result must be in the test's unit, ${test.unit}`, [
          {
            path: 'body.unit',
            message: `must be "${test.unit}" (the unit of test ${test.code}); no conversion is made`,
          },
        ]);
      }
      const ranges = rangesOfTest(test);
      const flag = flagOf(input.value, ranges);
      const at = this.deps.now();
      return {
        changes: {
          resultValue: input.value,
          resultUnit: test.unit,
          resultFlag: flag,
          resultRanges: { ...ranges },
          resultedAt: at,
          resultedBy: ctx.user.id,
        },
        detail: { flag },
        after: async (repo: LabOrdersRepository) => {
          if (!isCritical(flag)) return;
          const critical = flag as LabResultCritical['flag'];
          await repo.appendEvent({
            orderId: order.id,
            type: 'escalation-requested',
            actorId: null,
            detail: { flag: critical, topic: LAB_RESULT_CRITICAL },
            at,
          });
          work.publish(LAB_RESULT_CRITICAL, {
            organizationId: ctx.organizationId,
            orderId: order.id,
            patientId: order.patientId,
            testId: order.testId,
            flag: critical,
            encounterId: order.encounterId,
          });
          work.audit({
            action: 'lab-orders.escalate',
            resourceType: 'lab-order',
            resourceId: order.id,
            patientId: order.patientId,
          });
        },
      };
    });
  }

  /** A doctor has seen the result. */
  review(ctx: TenantContext, id: string) {
    return this.step(ctx, id, 'review', async () => ({
      changes: { reviewedAt: this.deps.now(), reviewedBy: ctx.user.id },
    }));
  }

  /** Cancels an order that has no result yet. */
  cancel(ctx: TenantContext, id: string, reason: string) {
    return this.step(ctx, id, 'cancel', async () => ({
      changes: { cancelledAt: this.deps.now(), cancelReason: reason },
      detail: { reason },
    }));
  }

  /**
   * One step of the machine, in one transaction: the order locked, the step checked against the
   * machine (404, or 409 naming the current status and the one asked for), the order changed, the
   * step appended to its timeline with the actor, and the change audited with the patient.
   */
  private step(
    ctx: TenantContext,
    id: string,
    action: LabOrderAction,
    build: (
      work: Work,
      order: LabOrderWithTest,
    ) => Promise<Step & { after?: (repo: LabOrdersRepository) => Promise<void> }>,
  ): Promise<LabOrder> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(LabOrdersRepository);
      // Locked: concurrent steps on one order take turns, and the second sees the first's status.
      const current = await repo.findWithTest(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'lab order not found');
      const from = current.status;
      const next = isLabOrderStatus(from) ? nextStatus(from, action) : undefined;
      if (!next || !isLabOrderStatus(from)) {
        const to = ACTION_TARGET[action];
        throw new AppError(
          'CONFLICT',
          `the lab order is ${from}: it cannot be ${PAST[action]} (${from} -> ${to} is not allowed; ${action} is allowed from ${allowedFrom(action).join(', ')})`,
        );
      }
      const { changes, detail, after } = await build(work, current);
      const at = this.deps.now();
      const row = await repo.advance(id, from, next, changes, at);
      if (!row) throw new Error(`lab order ${id} changed while locked`);
      await repo.appendEvent({ orderId: id, type: EVENT_OF[action], actorId: ctx.user.id, detail: detail ?? null, at });
      work.audit({
        action: `lab-orders.${action}`,
        resourceType: 'lab-order',
        resourceId: id,
        patientId: row.patientId,
      });
      await after?.(repo);
      return toLabOrder({ ...row, test: current.test });
    });
  }

  private async checkPatient(ctx: TenantContext, patientId: string): Promise<void> {
    const state = await this.deps.patientState(ctx, patientId);
    if (state === 'missing') throw notFound('patient', 'patientId');
    if (state === 'archived') throw new AppError('CONFLICT', 'the patient is archived: a lab test cannot be ordered');
  }

  private async checkEncounter(ctx: TenantContext, encounterId: string, patientId: string): Promise<void> {
    const encounter = await this.deps.encounter(ctx, encounterId);
    if (!encounter) throw notFound('encounter', 'encounterId');
    if (encounter.patientId !== patientId) {
      throw new AppError('VALIDATION_FAILED', 'the encounter is of another patient', [
        { path: 'body.encounterId', message: 'is not an encounter of this patient' },
      ]);
    }
    if (encounter.status !== 'open') {
      throw new AppError('CONFLICT', `the encounter is ${encounter.status}: orders are placed in an open encounter`);
    }
  }
}
