import { and, asc, isNotNull, lte } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/database.js';
import { safeError } from '../../platform/http/errors.js';
import { alerts } from './alerts.schema.js';

export interface EngineSettings {
  /** How often it looks for due timers: the bound on how late a step fires, on top of the work. */
  intervalMs: number;
  /** Due alerts taken per look (more are taken at once by the next look). */
  batch: number;
  /** Alerts fired at once (1 on PGlite, which has one connection). */
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
 * (`next_escalation_at`) is due, across organizations, and fires each in its own transaction, which
 * claims the row with FOR UPDATE SKIP LOCKED and checks again that it is due. So a step fires once
 * however many worker processes look at the same moment; a timer made stale by an acknowledgement
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
    private readonly fire: (organizationId: string, alertId: string) => Promise<number | null>,
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

  private async look(): Promise<number> {
    let fired = 0;
    try {
      for (;;) {
        const due = await this.db
          .select({ id: alerts.id, organizationId: alerts.organizationId })
          .from(alerts)
          .where(and(isNotNull(alerts.nextEscalationAt), lte(alerts.nextEscalationAt, this.now())))
          .orderBy(asc(alerts.nextEscalationAt))
          .limit(this.settings.batch);
        let round = 0;
        for (let i = 0; i < due.length; i += this.settings.concurrency) {
          const results = await Promise.all(due.slice(i, i + this.settings.concurrency).map((a) => this.fireOne(a)));
          round += results.filter(Boolean).length;
        }
        fired += round;
        // A full batch may have left more due; a batch where nothing fired (failures, or other
        // processes hold them) is left to the next look.
        if (due.length < this.settings.batch || round === 0) break;
      }
      this.lastTickAt = this.now();
    } catch (error) {
      this.failures++;
      this.log.error({ err: safeError(error as Error) }, 'escalation engine: the look for due alerts failed');
    }
    return fired;
  }

  private async fireOne(alert: { id: string; organizationId: string }): Promise<boolean> {
    try {
      const late = await this.fire(alert.organizationId, alert.id);
      if (late === null) return false;
      this.fired++;
      this.lateness.push(Math.max(0, late));
      if (this.lateness.length > SAMPLES) this.lateness.shift();
      return true;
    } catch (error) {
      // Left due: the next look tries again. Logged with ids only.
      this.failures++;
      this.log.error(
        { err: safeError(error as Error), alertId: alert.id, organizationId: alert.organizationId },
        'escalation failed',
      );
      return false;
    }
  }
}
