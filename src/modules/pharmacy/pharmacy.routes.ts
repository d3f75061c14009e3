import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import { IdParams } from '../../platform/http/ids.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type MedicationSummary, PharmacyService } from './pharmacy.service.js';
import {
  CreateLocation,
  Location,
  LocationQuery,
  LowStockQuery,
  Movement,
  MovementQuery,
  MovementsRecorded,
  RecordMovement,
  SetThreshold,
  StockLevel,
  StockParams,
  StockQuery,
  UpdateLocation,
} from './pharmacy.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    pharmacy: PharmacyService;
  }
}

/** The other modules, as far as this one relies on them. */
interface Others {
  medications?: { find(ctx: TenantContext, id: string): Promise<MedicationSummary | undefined> };
  hospitals?: { findHospital(ctx: TenantContext, id: string): Promise<unknown> };
  prescriptions?: {
    dispense(
      ctx: TenantContext,
      id: string,
      request: { medicationId: string; quantity: number },
    ): Promise<{ patientId: string }>;
  };
}

function required<T>(service: T | undefined, name: string): T {
  if (!service) throw new Error(`the ${name} module is not registered`);
  return service;
}

const tags = ['pharmacy'];
const read = { permission: 'pharmacy:read' } as const;
const manage = { permission: 'pharmacy:manage' } as const;
const found = { ...commonErrors, 404: ErrorBody };
const changed = { ...commonErrors, 404: ErrorBody, 409: ErrorBody };

/** Pharmacy locations, the stock ledger, on-hand levels and low-stock thresholds. */
export const pharmacyModule = fp(
  async (app: FastifyInstance) => {
    // Other modules are read when a request needs them, not now: they may register after this one.
    const others = () => app as unknown as Others;
    app.decorate(
      'pharmacy',
      new PharmacyService({
        uow: app.uow,
        now: () => app.now(),
        medication: (ctx, id) => required(others().medications, 'medications').find(ctx, id),
        hospitalExists: async (ctx, id) =>
          (await required(others().hospitals, 'hospitals').findHospital(ctx, id)) !== undefined,
        countDispense: (ctx, id, request) =>
          required(others().prescriptions, 'prescriptions').dispense(ctx, id, request),
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/api/v1/pharmacy/locations',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Add a pharmacy location (a pharmacy, a ward cabinet)',
          body: CreateLocation,
          response: { 201: Location, ...changed },
        },
      },
      async (request, reply) => reply.code(201).send(await app.pharmacy.createLocation(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/pharmacy/locations',
      {
        config: read,
        schema: {
          tags,
          summary: 'Pharmacy locations, in the order they were added',
          querystring: LocationQuery,
          response: { 200: pageOf(Location), ...commonErrors },
        },
      },
      async (request) => app.pharmacy.listLocations(request.tenant, request.query),
    );

    r.get(
      '/api/v1/pharmacy/locations/:id',
      {
        config: read,
        schema: { tags, summary: 'A pharmacy location', params: IdParams, response: { 200: Location, ...found } },
      },
      async (request) => app.pharmacy.getLocation(request.tenant, request.params.id),
    );

    r.patch(
      '/api/v1/pharmacy/locations/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Rename, move or deactivate (`active: false`) a pharmacy location',
          params: IdParams,
          body: UpdateLocation,
          response: { 200: Location, ...changed },
        },
      },
      async (request) => app.pharmacy.updateLocation(request.tenant, request.params.id, request.body),
    );

    r.put(
      '/api/v1/pharmacy/locations/:id/stock/:medicationId',
      {
        config: manage,
        schema: {
          tags,
          summary: "Set a medication's low-stock threshold at a location",
          params: StockParams,
          body: SetThreshold,
          response: { 200: StockLevel, ...found },
        },
      },
      async (request) =>
        app.pharmacy.setThreshold(
          request.tenant,
          request.params.id,
          request.params.medicationId,
          request.body.lowStockThreshold,
        ),
    );

    r.post(
      '/api/v1/pharmacy/movements',
      {
        // Receiving, adjusting and transferring keep stock (pharmacy:stock); a dispense also needs pharmacy:dispense.
        config: { permission: 'pharmacy:stock' },
        schema: {
          tags,
          summary:
            'Record a stock movement: receive (lot, expiresOn), dispense (prescriptionId; nurses), adjust (direction, reason) or transfer (toLocationId)',
          body: RecordMovement,
          response: { 201: MovementsRecorded, ...changed },
        },
      },
      async (request, reply) => reply.code(201).send(await app.pharmacy.record(request.tenant, request.body)),
    );

    r.get(
      '/api/v1/pharmacy/movements',
      {
        config: read,
        schema: {
          tags,
          summary: 'The stock ledger, oldest first',
          querystring: MovementQuery,
          response: { 200: pageOf(Movement), ...commonErrors },
        },
      },
      async (request) => app.pharmacy.listMovements(request.tenant, request.query),
    );

    r.get(
      '/api/v1/pharmacy/stock',
      {
        config: read,
        schema: {
          tags,
          summary: 'On-hand quantity per location and medication',
          querystring: StockQuery,
          response: { 200: pageOf(StockLevel), ...found },
        },
      },
      async (request) => app.pharmacy.stock(request.tenant, request.query),
    );

    r.get(
      '/api/v1/pharmacy/low-stock',
      {
        config: read,
        schema: {
          tags,
          summary: 'Medications at or below their low-stock threshold, per location',
          querystring: LowStockQuery,
          response: { 200: pageOf(StockLevel), ...found },
        },
      },
      async (request) => app.pharmacy.lowStock(request.tenant, request.query),
    );
  },
  { name: 'pharmacy', dependencies: ['kit', 'tenancy'] },
);
