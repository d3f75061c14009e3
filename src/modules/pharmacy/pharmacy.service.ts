import { randomUUID } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import { can } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  type LevelRow,
  type LevelView,
  type LocationRow,
  type MovementRow,
  type NewMovement,
  PharmacyRepository,
} from './pharmacy.repository.js';
import type {
  CreateLocation,
  Location,
  LocationQuery,
  LowStockQuery,
  Movement,
  MovementQuery,
  MovementType,
  RecordMovement,
  StockLevel,
  StockQuery,
  UpdateLocation,
} from './pharmacy.shapes.js';

export interface MedicationSummary {
  id: string;
  active: boolean;
}

export interface PharmacyDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** A medication of the caller's organization (app.medications.find). */
  medication(ctx: TenantContext, id: string): Promise<MedicationSummary | undefined>;
  /** Whether a hospital is the organization's (app.hospitals.findHospital). */
  hospitalExists(ctx: TenantContext, id: string): Promise<boolean>;
  /**
   * Counts a dispense against a prescription (app.prescriptions.dispense), in this module's
   * transaction; 404 or 409 when it may not be dispensed.
   */
  countDispense(
    ctx: TenantContext,
    prescriptionId: string,
    request: { medicationId: string; quantity: number },
  ): Promise<{ patientId: string }>;
}

const toLocation = ({ organizationId: _, ...row }: LocationRow): Location => row;

function toMovement(row: MovementRow, clinical: boolean): Movement {
  return {
    id: row.id,
    type: row.type as MovementType,
    locationId: row.locationId,
    medicationId: row.medicationId,
    quantity: row.quantity,
    balanceAfter: row.balanceAfter,
    lot: row.lot,
    expiresOn: row.expiresOn,
    reason: row.reason,
    // Who got what is clinical: only for those who read prescriptions (not admins).
    prescriptionId: clinical ? row.prescriptionId : null,
    patientId: clinical ? row.patientId : null,
    transferId: row.transferId,
    performedBy: row.performedBy,
    createdAt: row.createdAt,
  };
}

const toLevel = (row: LevelView): StockLevel => ({
  id: row.id,
  locationId: row.locationId,
  medicationId: row.medicationId,
  medicationName: row.medicationName,
  medicationCode: row.medicationCode,
  onHand: row.onHand,
  lowStockThreshold: row.lowStockThreshold,
  low: row.onHand <= row.lowStockThreshold,
  updatedAt: row.updatedAt,
});

function notFound(what: string, field?: string): AppError {
  return new AppError(
    'NOT_FOUND',
    `${what} not found`,
    field ? [{ path: `body.${field}`, message: `no such ${what}` }] : undefined,
  );
}

const seesPrescriptions = (ctx: TenantContext) => can(ctx.role, 'prescriptions:read');
const position = (row: { createdAt: Date; id: string }) => ({ sort: row.createdAt.toISOString(), id: row.id });

async function uniqueName<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code, constraint } = databaseError(error);
    if (code === '23505' && constraint === 'pharmacy_locations_name_idx')
      throw new AppError('CONFLICT', 'a pharmacy location with this name already exists');
    throw error;
  }
}

/**
 * Pharmacy locations and stock. Stock is an append-only ledger of movements (a trigger refuses any
 * change to a row); each movement changes the location's on-hand level in the same transaction, with
 * one conditional statement that never takes it below zero, so the level is always the ledger's sum.
 */
export class PharmacyService {
  constructor(private readonly deps: PharmacyDependencies) {}

  createLocation(ctx: TenantContext, input: CreateLocation): Promise<Location> {
    return uniqueName(
      (async () => {
        if (input.hospitalId) await this.hospitalMustExist(ctx, input.hospitalId);
        return this.deps.uow.write(ctx, async (work) => {
          const row = await work
            .repo(PharmacyRepository)
            .insertLocation({ name: input.name, hospitalId: input.hospitalId ?? null, at: this.deps.now() });
          work.audit({ action: 'pharmacy-locations.create', resourceType: 'pharmacy-location', resourceId: row.id });
          return toLocation(row);
        });
      })(),
    );
  }

  updateLocation(ctx: TenantContext, id: string, patch: UpdateLocation): Promise<Location> {
    return uniqueName(
      this.deps.uow.write(ctx, async (work) => {
        const repo = work.repo(PharmacyRepository);
        const current = await repo.findLocation(id, true);
        if (!current) throw new AppError('NOT_FOUND', 'pharmacy location not found');
        if (patch.hospitalId) await this.hospitalMustExist(ctx, patch.hospitalId);
        const row = await repo.updateLocation(id, { ...patch, updatedAt: this.deps.now() });
        const { active, ...rest } = patch;
        const event = { resourceType: 'pharmacy-location', resourceId: id };
        if (active !== undefined && active !== current.active)
          work.audit({ action: `pharmacy-locations.${active ? 'reactivate' : 'deactivate'}`, ...event });
        if (Object.keys(rest).length > 0 || active === current.active)
          work.audit({ action: 'pharmacy-locations.update', ...event });
        return toLocation(row);
      }),
    );
  }

  async getLocation(ctx: TenantContext, id: string): Promise<Location> {
    const row = await this.deps.uow.read(ctx, (work) => work.repo(PharmacyRepository).findLocation(id));
    if (!row) throw new AppError('NOT_FOUND', 'pharmacy location not found');
    return toLocation(row);
  }

  listLocations(ctx: TenantContext, query: LocationQuery) {
    return this.deps.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(PharmacyRepository)
        .listLocations(query.active, query.limit, decodeCursor(query.cursor));
      return toPage(rows, query.limit, position, toLocation);
    });
  }

  /**
   * Records one movement (two for a transfer) and moves the on-hand level with it, in one
   * transaction. A dispense is counted against its prescription in the same transaction too.
   */
  async record(ctx: TenantContext, input: RecordMovement): Promise<{ movements: Movement[] }> {
    if (input.type === 'dispense' && !can(ctx.role, 'pharmacy:dispense'))
      throw new AppError('FORBIDDEN', `the ${ctx.role} role lacks the pharmacy:dispense permission`);
    const medication = await this.deps.medication(ctx, input.medicationId);
    if (!medication) throw notFound('medication', 'medicationId');
    const rows = await this.deps.uow.write(ctx, async (work) => {
      const repo = work.repo(PharmacyRepository);
      const location = await repo.findLocation(input.locationId);
      if (!location) throw notFound('pharmacy location', 'locationId');
      const at = this.deps.now();
      const base = {
        locationId: input.locationId,
        medicationId: input.medicationId,
        performedBy: ctx.user.id,
        type: input.type,
      };
      let movements: NewMovement[];
      switch (input.type) {
        case 'receive': {
          if (!location.active) throw inactive('location', 'receives nothing');
          if (!medication.active)
            throw new AppError('CONFLICT', 'the medication is deactivated: it is not received any more');
          const level = await repo.increase(input.locationId, input.medicationId, input.quantity, at);
          movements = [
            {
              ...base,
              quantity: input.quantity,
              balanceAfter: level.onHand,
              lot: input.lot,
              expiresOn: input.expiresOn,
            },
          ];
          break;
        }
        case 'adjust': {
          const level =
            input.direction === 'increase'
              ? await repo.increase(input.locationId, input.medicationId, input.quantity, at)
              : await this.take(repo, input.locationId, input.medicationId, input.quantity, at);
          const quantity = input.direction === 'increase' ? input.quantity : -input.quantity;
          movements = [{ ...base, quantity, balanceAfter: level.onHand, reason: input.reason }];
          break;
        }
        case 'dispense': {
          // The prescription's row first, then the stock's: every dispense locks in that order.
          const counted = await this.deps.countDispense(ctx, input.prescriptionId, {
            medicationId: input.medicationId,
            quantity: input.quantity,
          });
          const level = await this.take(repo, input.locationId, input.medicationId, input.quantity, at);
          movements = [
            {
              ...base,
              quantity: -input.quantity,
              balanceAfter: level.onHand,
              prescriptionId: input.prescriptionId,
              patientId: counted.patientId,
            },
          ];
          break;
        }
        case 'transfer': {
          if (input.toLocationId === input.locationId)
            throw new AppError('VALIDATION_FAILED', 'a transfer goes to another location', [
              { path: 'body.toLocationId', message: 'must differ from locationId' },
            ]);
          const to = await repo.findLocation(input.toLocationId);
          if (!to) throw notFound('pharmacy location', 'toLocationId');
          if (!to.active) throw inactive('destination location', 'takes no transfers');
          // Levels are changed in the order of their location ids, so opposite transfers cannot deadlock.
          const out = () => this.take(repo, input.locationId, input.medicationId, input.quantity, at);
          const into = () => repo.increase(input.toLocationId, input.medicationId, input.quantity, at);
          let from: LevelRow;
          let dest: LevelRow;
          if (input.locationId < input.toLocationId) {
            from = await out();
            dest = await into();
          } else {
            dest = await into();
            from = await out();
          }
          const transferId = randomUUID();
          movements = [
            { ...base, quantity: -input.quantity, balanceAfter: from.onHand, transferId },
            {
              ...base,
              locationId: input.toLocationId,
              quantity: input.quantity,
              balanceAfter: dest.onHand,
              transferId,
            },
          ];
          break;
        }
      }
      const inserted = await repo.insertMovements(movements, at);
      for (const row of inserted) audit(work, row);
      return inserted;
    });
    const clinical = seesPrescriptions(ctx);
    return { movements: rows.map((row) => toMovement(row, clinical)) };
  }

  /** The ledger, oldest first, filtered. Dispenses name their patient: listing them is audited per patient. */
  listMovements(ctx: TenantContext, query: MovementQuery) {
    return this.deps.uow.read(ctx, async (work) => {
      const clinical = seesPrescriptions(ctx);
      const rows = await work.repo(PharmacyRepository).listMovements(
        {
          locationId: query.locationId,
          medicationId: query.medicationId,
          prescriptionId: query.prescriptionId,
          type: query.type,
        },
        query.limit,
        decodeCursor(query.cursor),
      );
      const page = toPage(rows, query.limit, position, (row) => row);
      const patients = page.data.flatMap((row) => (clinical && row.patientId ? [row.patientId] : []));
      if (patients.length > 0)
        work.audit({ action: 'stock-movements.list', resourceType: 'stock-movement', patientIds: patients });
      return { data: page.data.map((row) => toMovement(row, clinical)), nextCursor: page.nextCursor };
    });
  }

  /** On-hand levels, optionally of one location (404 when not the organization's) or medication. */
  stock(ctx: TenantContext, query: StockQuery) {
    return this.levels(ctx, { locationId: query.locationId, medicationId: query.medicationId }, query);
  }

  /** Levels at or below their low-stock threshold (an empty shelf with no threshold is low too). */
  lowStock(ctx: TenantContext, query: LowStockQuery) {
    return this.levels(ctx, { locationId: query.locationId, lowOnly: true }, query);
  }

  /** Sets the low-stock threshold of a medication at a location. */
  async setThreshold(ctx: TenantContext, locationId: string, medicationId: string, threshold: number) {
    return this.deps.uow.write(ctx, async (work) => {
      const repo = work.repo(PharmacyRepository);
      if (!(await repo.findLocation(locationId))) throw new AppError('NOT_FOUND', 'pharmacy location not found');
      if (!(await this.deps.medication(ctx, medicationId))) throw new AppError('NOT_FOUND', 'medication not found');
      const row = await repo.setThreshold(locationId, medicationId, threshold, this.deps.now());
      work.audit({ action: 'stock-levels.threshold', resourceType: 'stock-level', resourceId: row.id });
      return toLevel((await repo.level(locationId, medicationId))!);
    });
  }

  private levels(
    ctx: TenantContext,
    filter: { locationId?: string; medicationId?: string; lowOnly?: boolean },
    page: { limit: number; cursor?: string },
  ) {
    return this.deps.uow.read(ctx, async (work) => {
      const repo = work.repo(PharmacyRepository);
      if (filter.locationId && !(await repo.findLocation(filter.locationId)))
        throw new AppError('NOT_FOUND', 'pharmacy location not found');
      const rows = await repo.levels(filter, page.limit, decodeCursor(page.cursor));
      return toPage(rows, page.limit, position, toLevel);
    });
  }

  private async take(repo: PharmacyRepository, locationId: string, medicationId: string, quantity: number, at: Date) {
    const level = await repo.decrease(locationId, medicationId, quantity, at);
    if (level) return level;
    const available = await repo.onHand(locationId, medicationId);
    throw new AppError(
      'CONFLICT',
      `insufficient stock: ${quantity} requested, ${available} available at this location`,
    );
  }

  private async hospitalMustExist(ctx: TenantContext, hospitalId: string): Promise<void> {
    if (!(await this.deps.hospitalExists(ctx, hospitalId))) throw notFound('hospital', 'hospitalId');
  }
}

function inactive(what: string, refuses: string): AppError {
  return new AppError('CONFLICT', `the ${what} is deactivated: it ${refuses}`);
}

function audit(work: Work, row: MovementRow): void {
  work.audit({
    action: `stock.${row.type}`,
    resourceType: 'stock-movement',
    resourceId: row.id,
    patientId: row.patientId,
  });
}
