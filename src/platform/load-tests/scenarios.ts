/**
 * The load scenarios shared by `npm run loadtest`, the admin load-test endpoint and the benchmark's
 * autocannon fallback (the benchmark's wrk scripts, bench/wrk/scenario.lua, send the same requests):
 *   health     GET /health (no credentials)
 *   read       GET /api/v1/patients/:id over a small working set (cached after its first read)
 *   cold-read  GET /api/v1/patients/:id, each id once in turn over a large set (never read before)
 *   search     GET /api/v1/patients?q=<name prefix>
 *   create     POST /api/v1/patients (a new synthetic patient each time)
 *   mixed      70 % read, 20 % search, 10 % create
 * Every authenticated request carries the bearer token of one account with patients:read and
 * patients:create (a doctor or an operator).
 */
import type autocannon from 'autocannon';
import { z } from 'zod';

export const SCENARIOS = ['health', 'read', 'cold-read', 'search', 'create', 'mixed'] as const;
export const ScenarioName = z.enum(SCENARIOS);
export type ScenarioName = z.infer<typeof ScenarioName>;

/** The mixed workload's shares. */
export const MIX = { read: 0.7, search: 0.2, create: 0.1 } as const;

/** What the scenarios need from the target: a token, and ids and name prefixes of its patients. */
export interface ScenarioData {
  token: string | null;
  /** The working set of `read` and of the reads of `mixed`. */
  hotIds: string[];
  /** Read once each, in turn, by `cold-read`. */
  coldIds: string[];
  /** Family-name prefixes for `search`. */
  prefixes: string[];
}

export function needsPatients(scenario: ScenarioName): boolean {
  return scenario !== 'health' && scenario !== 'create';
}

export function needsToken(scenario: ScenarioName): boolean {
  return scenario !== 'health';
}

const GIVEN = ['Ada', 'Bruno', 'Chloe', 'Dmitri', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas'];
const FAMILY = ['Loadtest', 'Benchmark', 'Synthetic', 'Measure', 'Sample'];

/** A new synthetic patient, different for each n (no MRN: the server numbers it). */
export function newPatientBody(n: number): string {
  const month = String((n % 12) + 1).padStart(2, '0');
  const day = String((n % 28) + 1).padStart(2, '0');
  return JSON.stringify({
    givenName: GIVEN[n % GIVEN.length],
    familyName: `${FAMILY[n % FAMILY.length]}${n % 1000}`,
    birthDate: `${1940 + (n % 80)}-${month}-${day}`,
    sex: n % 2 === 0 ? 'female' : 'male',
  });
}

/** The path of a patient search by one of the prefixes. */
export const searchPath = (prefix: string) => `/api/v1/patients?q=${encodeURIComponent(prefix)}`;
export const readPath = (id: string) => `/api/v1/patients/${id}`;

type Kind = 'read' | 'cold' | 'search' | 'create';

/**
 * Hands out the next request of a scenario. Shared by all connections of one run, so `cold-read`
 * walks its ids once each, in turn, across connections; `coldRequests` says how far it went.
 */
export class ScenarioCursor {
  private n = 0;
  private cold = 0;

  constructor(
    readonly scenario: ScenarioName,
    private readonly data: ScenarioData,
    /** A number in [0, 1) for the mixed workload; swappable in tests. */
    private readonly random: () => number = Math.random,
  ) {}

  /** Cold reads handed out so far (more than coldIds.length means some ids were read twice). */
  get coldRequests(): number {
    return this.cold;
  }

  private kind(): Kind {
    switch (this.scenario) {
      case 'health':
      case 'read':
        return 'read';
      case 'cold-read':
        return 'cold';
      case 'search':
        return 'search';
      case 'create':
        return 'create';
      case 'mixed': {
        const r = this.random();
        if (r < MIX.read) return 'read';
        return r < MIX.read + MIX.search ? 'search' : 'create';
      }
    }
  }

  next(): { method: 'GET' | 'POST'; path: string; body?: string } {
    const n = this.n++;
    const { hotIds, coldIds, prefixes } = this.data;
    if (this.scenario === 'health') return { method: 'GET', path: '/health' };
    switch (this.kind()) {
      case 'read':
        return { method: 'GET', path: readPath(hotIds[n % hotIds.length]!) };
      case 'cold':
        return { method: 'GET', path: readPath(coldIds[this.cold++ % coldIds.length]!) };
      case 'search':
        return { method: 'GET', path: searchPath(prefixes[n % prefixes.length]!) };
      case 'create':
        return { method: 'POST', path: '/api/v1/patients', body: newPatientBody(n) };
    }
  }
}

/** autocannon's request list for a scenario: one entry whose setupRequest asks the cursor each time. */
export function autocannonRequests(cursor: ScenarioCursor, token: string | null): autocannon.Request[] {
  const auth = token ? { authorization: `Bearer ${token}` } : {};
  return [
    {
      setupRequest: (request: autocannon.Request) => {
        const next = cursor.next();
        return {
          ...request,
          method: next.method,
          path: next.path,
          headers: next.body ? { ...auth, 'content-type': 'application/json' } : auth,
          body: next.body,
        };
      },
    },
  ];
}
