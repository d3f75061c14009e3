/** The arguments of `npm run loadtest`, checked before anything is sent. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LIMITS } from '../platform/load-tests/load-run.js';
import { needsToken, SCENARIOS, ScenarioName } from '../platform/load-tests/scenarios.js';

export const LOADTEST_USAGE = [
  'Usage: npm run loadtest -- --scenario NAME [--connections 50] [--duration 10]',
  '         [--url http://127.0.0.1:5000] [--token T | --token-file PATH] [--allow-remote] [--json]',
  `  scenarios: ${SCENARIOS.join(', ')}`,
  `  bounds: 1-${LIMITS.connections} connections, 1-${LIMITS.durationSeconds} seconds`,
  '  Every scenario but health needs the bearer token of an account with patients:read (and',
  '  patients:create for create and mixed), e.g. a doctor of a synthetic organization (npm run seed).',
  '  Only loopback targets unless --allow-remote: never point it at a server you do not run.',
].join('\n');

export class LoadtestUsageError extends Error {}

export interface LoadtestArgs {
  scenario: ScenarioName;
  connections: number;
  durationSeconds: number;
  url: string;
  token: string | null;
  json: boolean;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function wholeNumber(value: string | undefined, fallback: number, name: string, max: number): number | string {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) return `--${name}: a whole number from 1 to ${max}`;
  const n = Number(value);
  return n >= 1 && n <= max ? n : `--${name}: a whole number from 1 to ${max}`;
}

/** Parses and checks argv (without node and the script); throws LoadtestUsageError listing every problem. */
export function parseLoadtestArgs(argv: string[], readFile: (path: string) => string = readFileText): LoadtestArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        connections: { type: 'string' },
        duration: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'allow-remote': { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: false,
    }));
  } catch (error) {
    throw new LoadtestUsageError((error as Error).message);
  }
  const str = (key: string) => values[key] as string | undefined;
  const problems: string[] = [];
  const scenario = ScenarioName.safeParse(str('scenario'));
  if (!scenario.success) problems.push(`--scenario: one of ${SCENARIOS.join(', ')}`);
  const connections = wholeNumber(str('connections'), 50, 'connections', LIMITS.connections);
  const duration = wholeNumber(str('duration'), 10, 'duration', LIMITS.durationSeconds);
  for (const value of [connections, duration]) if (typeof value === 'string') problems.push(value);

  let url: URL | undefined;
  try {
    url = new URL(str('url') ?? 'http://127.0.0.1:5000');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push('--url: an http:// or https:// URL');
    } else if (url.pathname !== '/' || url.search || url.username || url.password) {
      problems.push('--url: the server base URL only (scheme, host and port), without a path or credentials');
    } else if (!isLoopbackHost(url.hostname) && values['allow-remote'] !== true) {
      problems.push(
        `--url: ${url.hostname} is not this machine; a load test against another server needs --allow-remote`,
      );
    }
  } catch {
    problems.push('--url: not a valid URL');
  }

  if (str('token') !== undefined && str('token-file') !== undefined)
    problems.push('--token and --token-file: give one or the other');
  let token = str('token') ?? null;
  const tokenFile = str('token-file');
  if (tokenFile !== undefined) {
    try {
      token = readFile(tokenFile).trim();
    } catch {
      problems.push(`--token-file: cannot read ${tokenFile}`);
    }
  }
  if (token !== null && !/^[A-Za-z0-9._~+/=-]{16,512}$/.test(token))
    problems.push('--token: a bearer token (letters, digits and . _ ~ + / = -)');
  if (scenario.success && needsToken(scenario.data) && token === null && !problems.some((p) => p.startsWith('--token')))
    problems.push(`--token: the ${scenario.data} scenario needs a bearer token (or --token-file)`);

  if (problems.length > 0) throw new LoadtestUsageError(problems.join('\n'));
  return {
    scenario: scenario.data!,
    connections: connections as number,
    durationSeconds: duration as number,
    url: url!.origin,
    token,
    json: values.json === true,
  };
}

function readFileText(path: string): string {
  return readFileSync(path, 'utf8');
}
