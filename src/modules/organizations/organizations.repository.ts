import { and, asc, eq, inArray, type SQL } from 'drizzle-orm';
import { organizations } from '../../platform/auth/auth.schema.js';
import type { Executor } from '../../platform/db/database.js';
import { afterCursor } from '../../platform/db/keyset.js';
import type { Cursor } from '../../platform/http/pagination.js';

const columns = {
  id: organizations.id,
  name: organizations.name,
  slug: organizations.slug,
  createdAt: organizations.createdAt,
};

export type OrganizationRow = { id: string; name: string; slug: string; createdAt: Date };

/** The unscoped scope: every organization. Only platform admin code may use it. */
export const UNSCOPED_PLATFORM_WIDE = Symbol('every organization (platform admins only)');

/** The organizations a repository may touch: the caller's own, or every one (platform admins only). */
export type OrganizationScope = readonly string[] | typeof UNSCOPED_PLATFORM_WIDE;

/**
 * Organizations are the tenants themselves, so this repository is scoped by a list of organization
 * ids rather than by one id: every query is filtered by it, and an organization outside it is not found.
 */
export class OrganizationsRepository {
  constructor(
    private readonly db: Executor,
    private readonly scope: OrganizationScope,
  ) {}

  private scoped(...conditions: (SQL | undefined)[]) {
    if (this.scope === UNSCOPED_PLATFORM_WIDE) return and(...conditions);
    return and(inArray(organizations.id, this.scope.length ? [...this.scope] : ['']), ...conditions);
  }

  /** Fetches limit + 1 rows. */
  list(limit: number, cursor: Cursor | undefined): Promise<OrganizationRow[]> {
    return this.db
      .select(columns)
      .from(organizations)
      .where(this.scoped(afterCursor(organizations.createdAt, organizations.id, cursor)))
      .orderBy(asc(organizations.createdAt), asc(organizations.id))
      .limit(limit + 1);
  }

  async find(id: string): Promise<OrganizationRow | undefined> {
    const [row] = await this.db
      .select(columns)
      .from(organizations)
      .where(this.scoped(eq(organizations.id, id)));
    return row;
  }

  async create(values: { id: string; name: string; slug: string }): Promise<OrganizationRow> {
    if (this.scope !== UNSCOPED_PLATFORM_WIDE) throw new Error('only a platform-wide repository creates organizations');
    const [row] = await this.db.insert(organizations).values(values).returning(columns);
    return row!;
  }

  async update(id: string, patch: { name?: string; slug?: string }): Promise<OrganizationRow | undefined> {
    const [row] = await this.db
      .update(organizations)
      .set(patch)
      .where(this.scoped(eq(organizations.id, id)))
      .returning(columns);
    return row;
  }
}
