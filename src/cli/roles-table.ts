/** The README's roles table, from the permission table (test/readme.test.ts keeps them equal). */
import { PERMISSIONS, RESOURCES, ROLES } from '../platform/permissions.js';

export function rolesTable(): string {
  const permissions = Object.entries(RESOURCES).flatMap(([resource, actions]) =>
    actions.map((action) => `${resource}:${action}`),
  );
  const rows = permissions.map(
    (permission) =>
      `| \`${permission}\` | ${ROLES.map((role) => ((PERMISSIONS[role] as readonly string[]).includes(permission) ? 'yes' : '')).join(' | ')} |`,
  );
  return [`| Permission | ${ROLES.join(' | ')} |`, `|---|${ROLES.map(() => ':---:').join('|')}|`, ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(rolesTable());
