import { and, asc, eq, inArray } from 'drizzle-orm';
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

/**
 * Organizations are the tenants themselves, so this repository is scoped by the caller's list of
 * organization ids rather than by one id; `all` is for platform admins only.
 */
export class OrganizationsRepository {
  constructor(private readonly db: Executor) {}

  /** Lists organizations, restricted to `ids` unless `ids` is 'all'. Fetches limit + 1 rows. */
  list(ids: string[] | 'all', limit: number, cursor: Cursor | undefined): Promise<OrganizationRow[]> {
    const scope = ids === 'all' ? undefined : inArray(organizations.id, ids.length ? ids : ['']);
    return this.db
      .select(columns)
      .from(organizations)
      .where(and(scope, afterCursor(organizations.createdAt, organizations.id, cursor)))
      .orderBy(asc(organizations.createdAt), asc(organizations.id))
      .limit(limit + 1);
  }

  async find(id: string): Promise<OrganizationRow | undefined> {
    const [row] = await this.db.select(columns).from(organizations).where(eq(organizations.id, id));
    return row;
  }

  async create(values: { name: string; slug: string }): Promise<OrganizationRow> {
    const [row] = await this.db.insert(organizations).values(values).returning(columns);
    return row!;
  }

  async update(id: string, patch: { name?: string; slug?: string }): Promise<OrganizationRow | undefined> {
    const [row] = await this.db.update(organizations).set(patch).where(eq(organizations.id, id)).returning(columns);
    return row;
  }
}
