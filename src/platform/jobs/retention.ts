import type { JobQueue } from './job-queue.js';
import type { JobMap, JobName } from './job-map.js';

/** The jobs of no organization (housekeeping: one run covers every tenant). */
type HousekeepingJob = {
  [K in JobName]: JobMap[K] extends { organizationId: null } ? K : never;
}[JobName];

/**
 * Registers a daily retention job: each run deletes, batch after batch, what is older than
 * `days` (`prune(before)` deletes one batch and says how many), and answers how many in all.
 * One run at a time (stately), retried with backoff if the database fails it.
 */
export async function scheduleRetention(
  jobs: Pick<JobQueue, 'register' | 'schedule'>,
  name: HousekeepingJob,
  cron: string,
  settings: { days: number; now: () => Date; prune: (before: Date) => Promise<number> },
): Promise<void> {
  await jobs.register(
    name,
    async () => {
      const before = new Date(settings.now().getTime() - settings.days * 86_400_000);
      let deleted = 0;
      for (let batch = await settings.prune(before); batch > 0; batch = await settings.prune(before)) deleted += batch;
      return { deleted };
    },
    { policy: 'stately', retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 900 },
  );
  await jobs.schedule(name, cron, { organizationId: null, requestId: null });
}
