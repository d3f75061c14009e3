/**
 * Tenant-owned tables: one helper gives a table its `organization_id` (required, referencing the
 * organization) and puts that column first in every index the table declares, so that every query
 * a tenant repository makes (they all filter by it) can use an index.
 */
import { type SQL, sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  type CheckBuilder,
  type ExtraConfigColumn,
  foreignKey,
  index,
  type IndexBuilder,
  type PgColumnBuilderBase,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { organizations } from '../auth/auth.schema.js';

/** A primary key as Wardline generates them (UUIDs, as text). */
export const idColumn = () =>
  text('id')
    .primaryKey()
    .default(sql`gen_random_uuid()::text`);

/** A timestamp with time zone, kept to the millisecond (what JavaScript dates hold, so values round-trip). */
export const timestampColumn = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

type IndexColumn = ExtraConfigColumn | SQL | AnyPgColumn;

/** An index of a tenant table, declared without its organization column, which `tenantTable` puts first. */
export class TenantIndex {
  private condition: SQL | undefined;

  constructor(
    readonly name: string,
    private readonly unique: boolean,
    private readonly columns: IndexColumn[],
  ) {}

  /** A partial index. */
  where(condition: SQL): this {
    this.condition = condition;
    return this;
  }

  build(organizationId: ExtraConfigColumn) {
    const builder = (this.unique ? uniqueIndex(this.name) : index(this.name)).on(
      organizationId,
      ...(this.columns as ExtraConfigColumn[]),
    );
    return this.condition ? builder.where(this.condition) : builder;
  }
}

/**
 * A reference to another tenant table, as a foreign key on (organization_id, column): the database
 * itself refuses a row that points at another organization's record. A null column is not checked.
 */
export class TenantReference {
  constructor(
    readonly name: string,
    private readonly column: ExtraConfigColumn,
    private readonly target: () => { organizationId: AnyPgColumn; id: AnyPgColumn },
    private readonly onDelete: 'restrict' | 'cascade',
  ) {}

  build(organizationId: ExtraConfigColumn) {
    const target = this.target();
    return foreignKey({
      name: this.name,
      columns: [organizationId, this.column],
      foreignColumns: [target.organizationId, target.id],
    }).onDelete(this.onDelete);
  }
}

/** `tenantReference('units_hospital_fk', t.hospitalId, () => hospitals)`. */
export function tenantReference(
  name: string,
  column: ExtraConfigColumn,
  target: () => { organizationId: AnyPgColumn; id: AnyPgColumn },
  onDelete: 'restrict' | 'cascade' = 'restrict',
) {
  return new TenantReference(name, column, target, onDelete);
}

/** `tenantIndex('patients_mrn_idx').unique().on(t.mrn)` is an index on (organization_id, mrn). */
export function tenantIndex(name: string) {
  let unique = false;
  const builder = {
    unique() {
      unique = true;
      return builder;
    },
    on: (...columns: IndexColumn[]) => new TenantIndex(name, unique, columns),
  };
  return builder;
}

const tenantColumns = () => ({
  id: idColumn(),
  organizationId: text('organization_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'restrict' }),
  createdAt: timestampColumn('created_at').notNull().defaultNow(),
  updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
});

type TenantColumns = ReturnType<typeof tenantColumns>;

/**
 * A tenant-owned table: `id`, `organization_id`, `created_at`, `updated_at`, then `columns`. Every
 * index from `extras` starts with `organization_id`, and every reference is on (organization_id,
 * column); `check(...)` constraints, and plain `index(...)`es for the rare scan that crosses
 * organizations (the alert escalation timers), pass through as they are. Two indexes are always there: (organization_id, created_at, id) for lists in creation
 * order, and a unique (organization_id, id) that other tables' references point at.
 */
export function tenantTable<TName extends string, TColumns extends Record<string, PgColumnBuilderBase>>(
  name: TName,
  columns: TColumns,
  extras: (
    table: Record<keyof (TColumns & TenantColumns), ExtraConfigColumn>,
  ) => (TenantIndex | TenantReference | CheckBuilder | IndexBuilder)[] = () => [],
) {
  return pgTable(name, { ...tenantColumns(), ...columns }, (table) => {
    const t = table as unknown as Record<keyof (TColumns & TenantColumns), ExtraConfigColumn>;
    return [
      index(`${name}_organization_created_idx`).on(t.organizationId, t.createdAt, t.id),
      uniqueIndex(`${name}_organization_id_idx`).on(t.organizationId, t.id),
      ...extras(t).map((extra) =>
        extra instanceof TenantIndex || extra instanceof TenantReference ? extra.build(t.organizationId) : extra,
      ),
    ];
  });
}

/** Any table made by `tenantTable`. */
export type TenantTable = ReturnType<typeof tenantTable<string, Record<string, PgColumnBuilderBase>>>;
