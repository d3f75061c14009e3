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
} as const;

type Resource = keyof typeof RESOURCES;
export type Permission = {
  [R in Resource]: `${R}:${(typeof RESOURCES)[R][number]}`;
}[Resource];

export const PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: [
    'organization:read',
    'organization:update',
    'users:read',
    'users:update-role',
    'users:remove',
    'invitations:read',
    'invitations:create',
    'invitations:cancel',
    'audit:read',
  ],
  manager: ['organization:read', 'users:read', 'invitations:read', 'audit:read'],
  doctor: ['organization:read'],
  nurse: ['organization:read'],
  operator: ['organization:read'],
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
