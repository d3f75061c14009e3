/**
 * Ids and name prefixes for the scenarios, asked of the target server itself through its API with
 * the run's token (GET /api/v1/patients, paged): whatever server and organization the token is for.
 * Those list requests are audited like any other.
 */
import { needsPatients, type ScenarioData, type ScenarioName } from './scenarios.js';

export interface DiscoverOptions {
  /** The read scenario's working set. */
  hot: number;
  /** How many patients cold-read may walk through (more pages, fetched before the run). */
  cold: number;
}

export const DEFAULT_DISCOVERY: DiscoverOptions = { hot: 1000, cold: 20_000 };

interface Page {
  data: { id: string; familyName: string }[];
  nextCursor: string | null;
}

export class DiscoveryError extends Error {}

export async function discoverScenarioData(
  url: string,
  token: string | null,
  scenario: ScenarioName,
  options: DiscoverOptions = DEFAULT_DISCOVERY,
): Promise<ScenarioData> {
  const data: ScenarioData = { token, hotIds: [], coldIds: [], prefixes: [] };
  if (!needsPatients(scenario)) return data;
  if (!token) throw new DiscoveryError(`the ${scenario} scenario needs a token`);
  const wanted = scenario === 'cold-read' ? options.cold : options.hot;
  const patients: Page['data'] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await fetch(`${url}/api/v1/patients?${query}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) {
      throw new DiscoveryError(
        `listing patients answered ${response.status}: the token must belong to an account with patients:read`,
      );
    }
    const page = (await response.json()) as Page;
    patients.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor && patients.length < wanted);
  if (patients.length === 0) throw new DiscoveryError(`the ${scenario} scenario needs patients, and there are none`);
  // The list is sorted by name: the ids are shuffled so that reads do not walk the index in order.
  const ids = shuffle(patients.map((p) => p.id));
  data.hotIds = ids.slice(0, options.hot);
  data.coldIds = ids;
  data.prefixes = [...new Set(patients.map((p) => p.familyName.slice(0, 3)))];
  return data;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
