import { and, eq, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Executor } from './database.js';

/** Any table with an organization column: made by tenantTable, or one of Better Auth's (members, invitations). */
export interface TenantOwned {
  organizationId: AnyPgColumn;
}

/**
 * The base of every repository of tenant data. It is constructed only for one organization (through
 * a unit of work, `work.repo(PatientsRepository)`), and its queries take their tenant condition and
 * their organization id from here: `this.where(patients, eq(patients.mrn, mrn))`,
 * `this.owned({ ...values })`. A record of another organization is therefore never found, never
 * changed, and never created; the cross-tenant test (test/tenant-isolation.test.ts) calls every
 * route as another tenant to prove it.
 */
export abstract class TenantRepository {
  constructor(
    protected readonly db: Executor,
    readonly organizationId: string,
  ) {}

  /** The tenant condition on `table`, and `conditions` with it. */
  protected where(table: TenantOwned, ...conditions: (SQL | undefined)[]): SQL {
    return and(eq(table.organizationId, this.organizationId), ...conditions)!;
  }

  /** Values for an insert, with this repository's organization. */
  protected owned<V extends object>(values: V): V & { organizationId: string } {
    return { ...values, organizationId: this.organizationId };
  }
}

/** A repository class as a unit of work makes them: `new Repo(executor, organizationId)`. */
export type TenantRepositoryClass<R extends TenantRepository> = new (db: Executor, organizationId: string) => R;
