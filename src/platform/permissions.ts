/**
 * The one permission table: which organization role may do which action on which resource.
 * Routes declare the permission they need (`config: { permission: 'users:read' }`); Better Auth's
 * organization endpoints get roles derived from this same table, so the two never disagree.
 */
import { createAccessControl } from 'better-auth/plugins/access';

export const ROLES = ['admin', 'manager', 'doctor', 'nurse', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export const RESOURCES = {
  organization: ['read', 'update'],
  users: ['read', 'update-role', 'remove'],
  invitations: ['read', 'create', 'cancel'],
  audit: ['read'],
  hospitals: ['read', 'manage'],
  staff: ['read', 'manage'],
  shifts: ['own'],
  patients: ['read', 'create', 'update', 'archive', 'access-log'],
  appointments: ['read', 'schedule', 'progress'],
  encounters: ['read', 'open', 'sign'],
  notes: ['write', 'sign'],
  diagnoses: ['write'],
  vitals: ['record'],
  medications: ['read', 'manage'],
  prescriptions: ['read', 'prescribe'],
  'lab-tests': ['read', 'manage'],
  'lab-orders': ['read', 'order', 'process', 'review'],
  pharmacy: ['read', 'stock', 'dispense', 'manage'],
  insurers: ['read', 'manage'],
  coverages: ['read', 'manage'],
  'prior-authorizations': ['read', 'request', 'decide'],
  invoices: ['read', 'manage'],
  billing: ['receivables'],
  dashboard: ['read'],
  jobs: ['read'],
  alerts: ['read', 'raise', 'respond', 'policy', 'stats'],
  notifications: ['own'],
} as const;

type Resource = keyof typeof RESOURCES;
export type Permission = {
  [R in Resource]: `${R}:${(typeof RESOURCES)[R][number]}`;
}[Resource];

/**
 * What every member may do: see their organization, its hospitals and who works where, the catalogs
 * (medications, lab tests, insurers), and work shifts.
 */
const EVERY_MEMBER: Permission[] = [
  'organization:read',
  'hospitals:read',
  'staff:read',
  'shifts:own',
  'medications:read',
  'lab-tests:read',
  'insurers:read',
  'notifications:own',
];

/**
 * Admins run the organization (members, hospitals, units, rooms, staff records, the audit trail) but
 * read no clinical record: they see who accessed a patient's record, not the record. Managers read
 * everything in their organization, keep stock, and run the receivables and the dashboard. Operators
 * register patients, schedule, keep coverages, prior authorizations and invoices; nurses record
 * vitals, write notes, collect specimens, record results and dispense; doctors open encounters,
 * write, sign and diagnose, prescribe, and order and review lab tests. Admins also keep the
 * catalogs (medications, lab tests, insurers) and the pharmacy's locations.
 */
export const PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [
    ...EVERY_MEMBER,
    'organization:update',
    'users:read',
    'users:update-role',
    'users:remove',
    'invitations:read',
    'invitations:create',
    'invitations:cancel',
    'audit:read',
    'hospitals:manage',
    'staff:manage',
    'patients:access-log',
    'medications:manage',
    'lab-tests:manage',
    'insurers:manage',
    'pharmacy:read',
    'pharmacy:manage',
    'jobs:read',
    'alerts:policy',
  ],
  manager: [
    ...EVERY_MEMBER,
    'users:read',
    'invitations:read',
    'audit:read',
    'staff:manage',
    'patients:read',
    'patients:archive',
    'patients:access-log',
    'appointments:read',
    'encounters:read',
    'prescriptions:read',
    'lab-orders:read',
    'pharmacy:read',
    'pharmacy:stock',
    'pharmacy:manage',
    'coverages:read',
    'prior-authorizations:read',
    'invoices:read',
    'billing:receivables',
    'dashboard:read',
    'jobs:read',
    'alerts:read',
    'alerts:raise',
    'alerts:respond',
    'alerts:policy',
    'alerts:stats',
  ],
  doctor: [
    ...EVERY_MEMBER,
    'patients:read',
    'patients:create',
    'patients:update',
    'patients:access-log',
    'appointments:read',
    'appointments:progress',
    'encounters:read',
    'encounters:open',
    'encounters:sign',
    'notes:write',
    'notes:sign',
    'diagnoses:write',
    'vitals:record',
    'prescriptions:read',
    'prescriptions:prescribe',
    'lab-orders:read',
    'lab-orders:order',
    'lab-orders:review',
    'pharmacy:read',
    'coverages:read',
    'prior-authorizations:read',
    'prior-authorizations:request',
    'alerts:read',
    'alerts:raise',
    'alerts:respond',
  ],
  nurse: [
    ...EVERY_MEMBER,
    'patients:read',
    'appointments:read',
    'appointments:progress',
    'encounters:read',
    'notes:write',
    'vitals:record',
    'prescriptions:read',
    'lab-orders:read',
    'lab-orders:process',
    'pharmacy:read',
    'pharmacy:stock',
    'pharmacy:dispense',
    'alerts:read',
    'alerts:raise',
    'alerts:respond',
  ],
  operator: [
    ...EVERY_MEMBER,
    'patients:read',
    'patients:create',
    'patients:update',
    'patients:archive',
    'appointments:read',
    'appointments:schedule',
    'appointments:progress',
    'prescriptions:read',
    'coverages:read',
    'coverages:manage',
    'prior-authorizations:read',
    'prior-authorizations:request',
    'prior-authorizations:decide',
    'invoices:read',
    'invoices:manage',
    'alerts:read',
    'alerts:raise',
  ],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return PERMISSIONS[role].includes(permission);
}

// Better Auth's organization-plugin statements, and which of our permissions grants each.
const pluginStatements = {
  organization: ['update', 'delete'],
  member: ['create', 'update', 'delete'],
  invitation: ['create', 'cancel'],
  team: ['create', 'update', 'delete'],
  ac: ['create', 'read', 'update', 'delete'],
} as const;

const pluginGrants: Partial<Record<string, Permission>> = {
  'organization:update': 'organization:update',
  'member:create': 'invitations:create',
  'member:update': 'users:update-role',
  'member:delete': 'users:remove',
  'invitation:create': 'invitations:create',
  'invitation:cancel': 'invitations:cancel',
};

export const accessControl = createAccessControl(pluginStatements);

/** Better Auth organization roles derived from PERMISSIONS. */
export function organizationPluginRoles() {
  return Object.fromEntries(
    ROLES.map((role) => {
      const statements = Object.fromEntries(
        Object.entries(pluginStatements).map(([resource, actions]) => [
          resource,
          actions.filter((action) => {
            const grant = pluginGrants[`${resource}:${action}`];
            return grant !== undefined && can(role, grant);
          }),
        ]),
      );
      return [role, accessControl.newRole(statements)];
    }),
  ) as Record<Role, ReturnType<typeof accessControl.newRole>>;
}
