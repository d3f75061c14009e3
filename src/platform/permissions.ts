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
} as const;

type Resource = keyof typeof RESOURCES;
export type Permission = {
  [R in Resource]: `${R}:${(typeof RESOURCES)[R][number]}`;
}[Resource];

/** What every member may do: see their organization, its hospitals and who works where, and work shifts. */
const EVERY_MEMBER: Permission[] = ['organization:read', 'hospitals:read', 'staff:read', 'shifts:own'];

/**
 * Admins run the organization (members, hospitals, units, rooms, staff records, the audit trail) but
 * read no clinical record: they see who accessed a patient's record, not the record. Managers read
 * everything in their organization. Operators register patients and schedule; nurses record vitals
 * and write notes; doctors open encounters, write, sign and diagnose.
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
  ],
  nurse: [
    ...EVERY_MEMBER,
    'patients:read',
    'appointments:read',
    'appointments:progress',
    'encounters:read',
    'notes:write',
    'vitals:record',
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
