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

/**
 * Numbers of organizations' counters taken `size` at a time and handed out from memory, as a
 * PostgreSQL sequence with CACHE does: one statement, and one wait on the counter's row, per block
 * rather than per number. Unique and increasing within this process; not in commit order across
 * processes (each hands out its own blocks), and a block's numbers unused when the process stops
 * are never used. `take(organizationId, name, count)` is the first of `count` numbers taken at once.
 */
export class NumberBlocks {
  private readonly blocks = new Map<string, { next: number; end: number }>();
  private readonly refills = new Map<string, Promise<void>>();

  constructor(private readonly take: (organizationId: string, name: string, count: number) => Promise<number>) {}

  async next(organizationId: string, name: string, size: number): Promise<number> {
    const key = `${organizationId}\u0000${name}`;
    for (;;) {
      const block = this.blocks.get(key);
      if (block && block.next < block.end) return block.next++;
      // Callers that find the block used up wait for one refill between them.
      let refill = this.refills.get(key);
      if (!refill) {
        refill = this.take(organizationId, name, size)
          .then((first) => void this.blocks.set(key, { next: first, end: first + size }))
          .finally(() => this.refills.delete(key));
        this.refills.set(key, refill);
      }
      await refill;
    }
  }
}
