import { sql } from 'drizzle-orm';
import { organizationCounters } from './counters.schema.js';
import { TenantRepository } from './tenant-repository.js';

/** An organization's named counters (MRNs, invoice numbers, alert event numbers). */
export class CountersRepository extends TenantRepository {
  /**
   * The next value of counter `name`, from 1. The counter's row stays locked until the transaction
   * ends, so concurrent callers get consecutive values, none twice, in commit order; a rolled-back
   * caller gives its value back.
   */
  async next(name: string): Promise<number> {
    return this.take(name, 1);
  }

  /**
   * The first of `count` consecutive values of counter `name` taken at once (the next `count`
   * values), with the same locking as `next`.
   */
  async take(name: string, count: number): Promise<number> {
    const c = organizationCounters;
    const [row] = await this.db
      .insert(c)
      .values(this.owned({ name, value: count }))
      .onConflictDoUpdate({ target: [c.organizationId, c.name], set: { value: sql`${c.value} + ${count}` } })
      .returning({ value: c.value });
    return row!.value - count + 1;
  }
}
