import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../platform/db/database.js';
import type { Role } from '../platform/permissions.js';
import type { TenantContext } from '../platform/tenancy/context.js';
import { hospitals, rooms, units } from '../modules/hospitals/hospitals.schema.js';
import type { AlertsService } from '../modules/alerts/alerts.service.js';
import type { RaiseAlert } from '../modules/alerts/alerts.shapes.js';

/** The demo tenant's ward: where its nurse and doctor are on duty (clinical-data.ts). */
const WARD = 'Ward 4B';

/** Someone of the demo tenant acting through the services, as a signed-in member would. */
function demoContext(organizationId: string, role: Role, userId: string): TenantContext {
  return {
    requestId: 'demo-seed',
    user: { id: userId, email: `${role}@demo.test`, name: `Demo ${role}`, platformAdmin: false },
    authMethod: 'session',
    sessionId: 'demo-seed',
    apiKeyId: null,
    client: { ip: null, userAgent: 'wardline demo seed' },
    memberships: [{ organizationId, role }],
    organizationId,
    role,
  };
}

/**
 * A few alerts in the demo ward, raised and answered through the alerts service (so they have their
 * timelines, notifications and numbered events like any other): one active, one acknowledged, one
 * resolved. Their descriptions say they are synthetic.
 */
export async function seedDemoAlerts(
  db: Db,
  alerts: Pick<AlertsService, 'raise' | 'acknowledge' | 'resolve'>,
  organizationId: string,
  staff: Record<Role, string>,
): Promise<number> {
  const ward = await db
    .select({ hospitalId: hospitals.id, unitId: units.id, roomId: rooms.id })
    .from(rooms)
    .innerJoin(units, and(eq(units.organizationId, rooms.organizationId), eq(units.id, rooms.unitId)))
    .innerJoin(hospitals, and(eq(hospitals.organizationId, rooms.organizationId), eq(hospitals.id, rooms.hospitalId)))
    .where(and(eq(rooms.organizationId, organizationId), eq(units.name, WARD)))
    .orderBy(asc(rooms.name))
    .limit(3);
  if (ward.length < 3) return 0;
  const as = (role: Role) => demoContext(organizationId, role, staff[role]);
  const raise = (place: (typeof ward)[number], type: RaiseAlert['type'], urgency: number, description: string) =>
    alerts.raise(as('operator'), { ...place, type, urgency, description: `${description} (synthetic demo)` });

  await raise(ward[0]!, 'fall', 4, 'Patient found on the floor beside the bed');
  const acknowledged = await raise(ward[1]!, 'assistance', 2, 'Call bell: help to the bathroom');
  await alerts.acknowledge(as('nurse'), acknowledged.alert.id);
  const resolved = await raise(ward[2]!, 'equipment', 3, 'Infusion pump occlusion alarm');
  await alerts.acknowledge(as('nurse'), resolved.alert.id);
  await alerts.resolve(as('nurse'), resolved.alert.id, 'Line flushed, pump restarted (synthetic demo)');
  return 3;
}
