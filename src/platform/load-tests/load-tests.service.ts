/**
 * Admin load tests: one bounded run at a time against this same server, in the background, kept in
 * memory (the last RUNS_KEPT runs). See load-test-account.ts for the credential a run uses.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../http/errors.js';
import { actingAs } from '../db/unit-of-work.js';
import type { RequestContext } from '../tenancy/context.js';
import { discoverScenarioData } from './discover.js';
import { type LoadProgress, type LoadReport, type LoadRun, startLoadRun } from './load-run.js';
import { endSessionsOf, ensureLoadTestOrganization, openRunSession } from './load-test-account.js';
import { needsToken, type ScenarioName } from './scenarios.js';

export const RUNS_KEPT = 20;

export type RunStatus = 'preparing' | 'running' | 'finished' | 'failed' | 'stopped';

export interface RunRequest {
  scenario: ScenarioName;
  connections: number;
  durationSeconds: number;
}

export interface RunView extends RunRequest {
  id: string;
  status: RunStatus;
  startedBy: string;
  createdAt: string;
  finishedAt: string | null;
  progress: LoadProgress;
  report: LoadReport | null;
  error: string | null;
}

/** The address this server listens on, as a loopback URL when it listens on every interface. */
export function ownUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string') {
    throw new AppError('SERVICE_UNAVAILABLE', 'the server is not listening on a TCP port');
  }
  const host =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  return `http://${host}:${address.port}`;
}

export class LoadTestsService {
  private readonly runs: RunView[] = [];
  private active: { view: RunView; run?: LoadRun } | undefined;
  /** Patients of the synthetic organization made on the first run (tests make fewer). */
  syntheticPatients = 2000;

  constructor(private readonly app: FastifyInstance) {}

  get(id: string): RunView {
    const view = this.runs.find((run) => run.id === id);
    if (!view) throw new AppError('NOT_FOUND', 'load test not found');
    return view;
  }

  start(ctx: RequestContext, request: RunRequest): RunView {
    if (this.active) throw new AppError('CONFLICT', `load test ${this.active.view.id} is still running`);
    const url = ownUrl(this.app);
    const view: RunView = {
      ...request,
      id: randomUUID(),
      status: 'preparing',
      startedBy: ctx.user.id,
      createdAt: this.app.now().toISOString(),
      finishedAt: null,
      progress: { elapsedSeconds: 0, requests: 0, errors: 0 },
      report: null,
      error: null,
    };
    this.runs.unshift(view);
    this.runs.splice(RUNS_KEPT);
    this.active = { view };
    void this.execute(ctx, view, url);
    return view;
  }

  /** Stops the run in progress (at shutdown): its session is deleted as it ends. */
  async stop(): Promise<void> {
    const active = this.active;
    if (!active) return;
    active.view.status = 'stopped';
    active.run?.stop();
    while (this.active) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private async execute(ctx: RequestContext, view: RunView, url: string): Promise<void> {
    let account: { organizationId: string; userId: string } | undefined;
    let token: string | null = null;
    // Shown only once the credential is gone and the end is audited: a reader of "finished" may rely on both.
    let outcome: RunStatus = 'finished';
    try {
      account = await ensureLoadTestOrganization(this.app, this.syntheticPatients);
      const acting = actingAs(ctx, account.organizationId);
      await this.app.uow.write(acting, async (work) =>
        work.audit({ action: 'load-test.start', resourceType: 'load-test', resourceId: view.id }),
      );
      if (needsToken(view.scenario)) {
        await endSessionsOf(this.app, account.userId);
        // Long enough for discovery, the run and its last answers; deleted as soon as it ends.
        token = await openRunSession(this.app, account.userId, view.durationSeconds + 120);
      }
      const data = await discoverScenarioData(url, token, view.scenario, { hot: 1000, cold: 5000 });
      if (this.active?.view !== view || view.status === 'stopped') return;
      view.status = 'running';
      const run = await startLoadRun(
        { url, scenario: view.scenario, connections: view.connections, durationSeconds: view.durationSeconds, data },
        (progress) => (view.progress = progress),
      );
      this.active.run = run;
      view.report = await run.done;
      view.progress = {
        elapsedSeconds: view.durationSeconds,
        requests: view.report.requests,
        errors: view.report.errors,
      };
      if ((view.status as RunStatus) === 'stopped') outcome = 'stopped';
    } catch (error) {
      outcome = 'failed';
      view.error = error instanceof AppError || error instanceof Error ? error.message : 'the run failed';
      this.app.log.warn({ err: error, loadTestId: view.id }, 'load test failed');
    } finally {
      view.finishedAt = this.app.now().toISOString();
      if (account) {
        if (token) await endSessionsOf(this.app, account.userId).catch(() => {});
        const acting = actingAs(ctx, account.organizationId);
        await this.app.uow
          .write(acting, async (work) =>
            work.audit({
              action: 'load-test.finish',
              resourceType: 'load-test',
              resourceId: view.id,
              outcome: outcome === 'failed' ? 'failed' : 'success',
            }),
          )
          .catch((error: unknown) => this.app.log.warn({ err: error }, 'could not audit the end of a load test'));
      }
      if (view.status !== 'stopped') view.status = outcome;
      this.active = undefined;
    }
  }
}
