import type { TenantContext } from '../tenancy/context.js';

/** What the realtime platform needs of the hospitals module (`app.hospitals`), read at run time. */
export interface HospitalLister {
  listHospitals(
    ctx: TenantContext,
    query: { limit: number; cursor?: string; active?: boolean },
  ): Promise<{ data: { id: string }[]; nextCursor: string | null }>;
}

const PAGE = 100;

/**
 * The active hospitals of each organization, for the hospital rooms its sockets join. Kept for
 * `ttlMs` and loaded once however many sockets connect at the same moment (a ward's worth of
 * screens after a restart), so a handshake costs at most one read per organization per `ttlMs`.
 */
export class HospitalDirectory {
  private readonly entries = new Map<string, { at: number; ids: Promise<string[]> }>();

  constructor(
    private readonly lister: () => HospitalLister | undefined,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Ids of the active hospitals of the caller's organization (every member may see them all). */
  activeHospitalIds(ctx: TenantContext): Promise<string[]> {
    const now = this.clock();
    const entry = this.entries.get(ctx.organizationId);
    if (entry && now - entry.at < this.ttlMs) return entry.ids;
    const ids = this.load(ctx);
    this.entries.set(ctx.organizationId, { at: now, ids });
    // A failed read is not kept: the next handshake tries again.
    ids.catch(() => {
      if (this.entries.get(ctx.organizationId)?.ids === ids) this.entries.delete(ctx.organizationId);
    });
    return ids;
  }

  /** Drops entries nothing has asked for lately (called by the periodic recheck). */
  prune(): void {
    const now = this.clock();
    for (const [organizationId, entry] of this.entries) {
      if (now - entry.at >= this.ttlMs) this.entries.delete(organizationId);
    }
  }

  private async load(ctx: TenantContext): Promise<string[]> {
    const lister = this.lister();
    if (!lister) return [];
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await lister.listHospitals(ctx, { limit: PAGE, active: true, ...(cursor ? { cursor } : {}) });
      ids.push(...page.data.map((hospital) => hospital.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return ids;
  }
}
