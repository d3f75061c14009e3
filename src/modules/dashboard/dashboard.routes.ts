import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { commonErrors, ErrorBody } from '../../platform/http/errors.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { DashboardService, type HospitalZone } from './dashboard.service.js';
import { DashboardQuery, DashboardStats } from './dashboard.shapes.js';

declare module 'fastify' {
  interface FastifyInstance {
    dashboard: DashboardService;
  }
}

/** What the dashboard reads of other modules, at request time (they may register after this one). */
interface Others {
  hospitals?: { getHospital(ctx: TenantContext, id: string): Promise<HospitalZone> };
  alertReads?: { countActive(ctx: TenantContext, hospitalId: string | null): Promise<number> };
}

/** `GET /api/v1/dashboard/stats`: the organization's figures of the day, for managers. */
export const dashboardModule = fp(
  async (app: FastifyInstance) => {
    const others = () => app as unknown as Others;
    app.decorate(
      'dashboard',
      new DashboardService({
        uow: app.uow,
        now: app.now,
        hospital: (ctx, id) => {
          const hospitals = others().hospitals;
          if (!hospitals) throw new Error('the hospitals module is not registered');
          return hospitals.getHospital(ctx, id);
        },
        activeAlerts: async (ctx, hospitalId) => (await others().alertReads?.countActive(ctx, hospitalId)) ?? 0,
      }),
    );
    const r = app.withTypeProvider<ZodTypeProvider>();

    r.get(
      '/api/v1/dashboard/stats',
      {
        config: { permission: 'dashboard:read' },
        schema: {
          tags: ['dashboard'],
          summary: "The organization's figures of the day",
          description:
            "Active patients, the day's appointments by status, open encounters, pending and critical lab results, " +
            'low-stock items, the unpaid invoices total and open alerts, for the organization or one hospital. Counts ' +
            'only: reading them is not an access to patient data. The figures are cached for ten seconds, so they may ' +
            'be that old (generatedAt says when they were counted).',
          querystring: DashboardQuery,
          response: { 200: DashboardStats, ...commonErrors, 404: ErrorBody },
        },
      },
      async (request) => app.dashboard.stats(request.tenant, request.query),
    );
  },
  { name: 'dashboard', dependencies: ['kit', 'tenancy'] },
);
