import { and, asc, isNotNull, lte } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import { safeError } from '../../platform/http/errors.js';
import { alerts } from './alerts.schema.js';

export interface EngineSettings {
  /** How often it looks for due timers: the bound on how late a step fires, on top of the work. */
  intervalMs: number;
  /** Due alerts of one organization fired in one transaction. */
  batch: number;
  /** Batches fired at once (1 on PGlite, which has one connection). */
  concurrency: number;
}

/** What the engine reports to /health/ready and the metrics. */
export interface EngineStats {
  running: boolean;
  /** The end of its last look (its heartbeat); null before the first. */
  lastTickAt: string | null;
  /** Whether its heartbeat (or, before the first, its start) is recent: within ten intervals; false while it is not running. */
  healthy: boolean;
  fired: number;
  failures: number;
  /** How late the last steps (up to 1,000) fired, in ms. */
  lateMs: { p50: number; p99: number; max: number; samples: number };
}

const SAMPLES = 1000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The escalation engine and its own watchdog: every `intervalMs` it looks for alerts whose timer
 * (`next_escalation_at`) is due, across organizations, most overdue first, and fires them in batches
 * of one organization, each batch one transaction, which claims its rows with FOR NO KEY UPDATE SKIP
 * LOCKED and checks again that they are due (a batch that fails is fired again alert by alert, so
 * one bad alert never holds back the others). So a step fires once however many worker processes
 * look at the same moment; a timer made stale by an acknowledgement
 * does nothing; and a timer that came due while every process was down fires at the next look
 * after start. It runs in the processes that run jobs (ROLE all or worker).
 */
export class EscalationEngine {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private lastTickAt: Date | null = null;
  private startedAt: Date | null = null;
  private fired = 0;
  private failures = 0;
  private readonly lateness: number[] = [];

  constructor(
    private readonly db: Db,
    /** Fires the due timers of these alerts of one organization; resolves with how late each fired step was, by id. */
    private readonly fireDue: (organizationId: string, alertIds: string[]) => Promise<Map<string, number>>,
    private readonly now: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly settings: EngineSettings,
  ) {}

  start(): void {
    this.startedAt ??= this.now();
    // A look still under way when the interval comes round is left to finish: no queue of looks.
    this.timer ??= setInterval(() => {
      if (!this.running) void this.tick();
    }, this.settings.intervalMs).unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /**
   * One look that starts now (after the one under way, if any, which may have read an older clock):
   * fires every alert due by now; resolves with how many fired.
   */
  async tick(): Promise<number> {
    while (this.running) await this.running;
    this.running = this.look();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  stats(): EngineStats {
    const sorted = [...this.lateness].sort((a, b) => a - b);
    // Before its first look ends, it is as healthy as its start is recent.
    const since = this.lastTickAt ?? this.startedAt;
    const age = since ? this.now().getTime() - since.getTime() : Infinity;
    return {
      running: this.timer !== undefined,
      lastTickAt: this.lastTickAt?.toISOString() ?? null,
      healthy: this.timer !== undefined && age <= 10 * this.settings.intervalMs,
      fired: this.fired,
      failures: this.failures,
      lateMs: {
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted.at(-1) ?? 0,
        samples: sorted.length,
      },
    };
  }

  /**
   * Fires these alerts' due timers (those still due and not held by another process) in one
   * transaction, and counts them in the stats; resolves with how many fired. The engine's own looks
   * call it; tests call it to race it.
   */
  async fire(organizationId: string, alertIds: string[]): Promise<number> {
    try {
      const fired = await this.fireDue(organizationId, alertIds);
      for (const late of fired.values()) this.lateness.push(Math.max(0, late));
      if (this.lateness.length > SAMPLES) this.lateness.splice(0, this.lateness.length - SAMPLES);
      this.fired += fired.size;
      return fired.size;
    } catch (error) {
      if (alertIds.length > 1) {
        this.log.warn(
          { err: safeError(error as Error), organizationId, alerts: alertIds.length },
          'escalation batch failed: firing its alerts one by one',
        );
        // One alert must not hold back the others: each on its own, and only the one that fails is left due.
        let fired = 0;
        for (const id of alertIds) fired += await this.fire(organizationId, [id]);
        return fired;
      }
      // Left due: the next look tries again. Logged with ids only.
      this.failures++;
      this.log.error({ err: safeError(error as Error), alertId: alertIds[0], organizationId }, 'escalation failed');
      return 0;
    }
  }

  private async look(): Promise<number> {
    let fired = 0;
    try {
      for (;;) {
        const due = await this.db
          .select({ id: alerts.id, organizationId: alerts.organizationId })
          .from(alerts)
          .where(and(isNotNull(alerts.nextEscalationAt), lte(alerts.nextEscalationAt, this.now())))
          .orderBy(asc(alerts.nextEscalationAt))
          .limit(this.settings.batch * this.settings.concurrency);
        // The most overdue first, in batches of one organization each.
        const batches: { organizationId: string; ids: string[] }[] = [];
        const open = new Map<string, { organizationId: string; ids: string[] }>();
        for (const alert of due) {
          let batch = open.get(alert.organizationId);
          if (!batch || batch.ids.length >= this.settings.batch) {
            batch = { organizationId: alert.organizationId, ids: [] };
            open.set(alert.organizationId, batch);
            batches.push(batch);
          }
          batch.ids.push(alert.id);
        }
        let round = 0;
        for (let i = 0; i < batches.length; i += this.settings.concurrency) {
          const results = await Promise.all(
            batches.slice(i, i + this.settings.concurrency).map((b) => this.fire(b.organizationId, b.ids)),
          );
          round += results.reduce((sum, n) => sum + n, 0);
        }
        fired += round;
        // A full take may have left more due; a take where nothing fired (failures, or other
        // processes hold them) is left to the next look.
        if (due.length < this.settings.batch * this.settings.concurrency || round === 0) break;
      }
      this.lastTickAt = this.now();
    } catch (error) {
      this.failures++;
      this.log.error({ err: safeError(error as Error) }, 'escalation engine: the look for due alerts failed');
    }
    return fired;
  }
}
