import type { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import { OUTSIDE_SERVICES, type OutsideService } from './breaker-table.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** One breaker's state and its counts since start, for metrics and /health/ready. */
export interface BreakerStats {
  name: OutsideService;
  /** For a breaker of one host of the service (a hospital's webhook receiver, a push service). */
  host?: string;
  /** For a service's entry: how many of its hosts' breakers are open or half-open. */
  openHosts?: number;
  state: BreakerState;
  counts: { calls: number; successes: number; failures: number; timeouts: number; rejected: number };
}

export interface BreakerSettings {
  /** Per service: how long one call may take before it is abandoned and counted as failed. */
  timeouts: Record<OutsideService, number>;
  /** Failed share of the calls in the rolling window (10 s) that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open at all. */
  volumeThreshold: number;
  /** How long an open breaker refuses calls before it lets one through (half-open). */
  resetTimeoutMs: number;
  /** Told of every change of state (the app logs it). */
  onStateChange?: (name: OutsideService, state: BreakerState, host?: string) => void;
}

export interface FireOptions {
  /**
   * Whether an error the call threw is the service's fault (default: every error is). A webhook
   * receiver's 4xx, say, is an answer: it is rethrown to the caller but does not count toward opening.
   */
  isFailure?: (error: unknown) => boolean;
}

/** Thrown instead of calling a service whose breaker is open: retry later (a job retries with backoff). */
export class BreakerOpenError extends Error {
  readonly code = 'EOPENBREAKER';
  constructor(
    readonly service: OutsideService,
    readonly host?: string,
  ) {
    super(`${service}${host ? ` (${host})` : ''} is unavailable (its circuit breaker is open); retry later`);
    this.name = 'BreakerOpenError';
  }
}

type Call = (signal: AbortSignal) => Promise<unknown>;
type Args = [Call, AbortController, FireOptions['isFailure']];
type Outcome = { value: unknown } | { passedOn: unknown };

/** Calls to one outside service, through its circuit breaker. */
export class Breaker {
  readonly #circuit: CircuitBreaker<Args, Outcome>;
  readonly #counts = { calls: 0, successes: 0, failures: 0, timeouts: 0, rejected: 0 };
  #inFlight = 0;

  constructor(
    readonly name: OutsideService,
    timeoutMs: number,
    settings: BreakerSettings,
    readonly host?: string,
  ) {
    this.#circuit = new CircuitBreaker(
      async (...[call, controller, isFailure]: Args): Promise<Outcome> => {
        try {
          return { value: await call(controller.signal) };
        } catch (error) {
          if (isFailure && !isFailure(error)) return { passedOn: error };
          throw error;
        }
      },
      {
        name: host ? `${name} ${host}` : name,
        timeout: timeoutMs,
        errorThresholdPercentage: settings.errorThresholdPercentage,
        volumeThreshold: settings.volumeThreshold,
        resetTimeout: settings.resetTimeoutMs,
      },
    );
    const counts = this.#counts;
    this.#circuit.on('fire', () => counts.calls++);
    this.#circuit.on('success', () => counts.successes++);
    this.#circuit.on('failure', () => counts.failures++);
    // The call that timed out is abandoned: its signal aborts, so what it started stops too.
    (this.#circuit as unknown as EventEmitter).on('timeout', (_error: Error, _latency: number, args: Args) => {
      counts.timeouts++;
      args[1].abort(new Error(`${name} timed out after ${timeoutMs} ms`));
    });
    this.#circuit.on('reject', () => counts.rejected++);
    const tell = settings.onStateChange;
    if (tell) {
      this.#circuit.on('open', () => tell(name, 'open', host));
      this.#circuit.on('halfOpen', () => tell(name, 'half-open', host));
      this.#circuit.on('close', () => tell(name, 'closed', host));
    }
  }

  /**
   * Runs `call` unless the breaker is open (then BreakerOpenError at once, without calling). At the
   * service's timeout the call is abandoned (rejected with code ETIMEDOUT, counted as a failure) and
   * its signal aborted: pass the signal on (`fetch(url, { signal })`) so that the work stops too.
   */
  async fire<T>(call: (signal: AbortSignal) => Promise<T>, options: FireOptions = {}): Promise<T> {
    let outcome: Outcome;
    this.#inFlight++;
    try {
      outcome = await this.#circuit.fire(call, new AbortController(), options.isFailure);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') throw new BreakerOpenError(this.name, this.host);
      throw error;
    } finally {
      this.#inFlight--;
    }
    if ('passedOn' in outcome) throw outcome.passedOn;
    return outcome.value as T;
  }

  /** Whether it may be dropped without losing anything: closed, and no call under way. */
  get idle(): boolean {
    return this.#inFlight === 0 && this.state === 'closed';
  }

  get state(): BreakerState {
    if (this.#circuit.opened) return 'open';
    return this.#circuit.halfOpen ? 'half-open' : 'closed';
  }

  stats(): BreakerStats {
    return {
      name: this.name,
      ...(this.host ? { host: this.host } : {}),
      state: this.state,
      counts: { ...this.#counts },
    };
  }

  shutdown(): void {
    this.#circuit.shutdown();
  }
}

/**
 * The most hosts of one service that keep a breaker: past it, the least recently called idle one
 * (closed, no call under way) is dropped. One that is open or busy is never dropped, so cycling
 * through hosts cannot reset a breaker that is open.
 */
export const MAX_HOSTS = 256;

type Counts = BreakerStats['counts'];
const zero = (): Counts => ({ calls: 0, successes: 0, failures: 0, timeouts: 0, rejected: 0 });

/** Adds `more` into `total`, count by count. */
function addCounts(total: Counts, more: Counts): void {
  for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += more[key];
}

/**
 * The circuit breakers: one per outside service (OUTSIDE_SERVICES), and one per host of a service
 * called at many addresses (hospitals' webhook receivers, browsers' push services), so that one
 * hospital's broken receiver opens only its own breaker. Code that calls a service does it through
 * `app.breakers.for('smtp').fire((signal) => transport.sendMail(message))`, or
 * `app.breakers.for('webhook', url.host).fire(...)`.
 */
export class Breakers {
  readonly #breakers: Map<OutsideService, Breaker>;
  /** Per `service host`, least recently called first. */
  readonly #byHost = new Map<string, Breaker>();
  /** The counts of host breakers dropped (MAX_HOSTS), kept in their service's totals. */
  readonly #dropped = new Map<OutsideService, Counts>();

  constructor(private readonly settings: BreakerSettings) {
    this.#breakers = new Map(
      OUTSIDE_SERVICES.map((name) => [name, new Breaker(name, settings.timeouts[name], settings)]),
    );
  }

  /** The service's breaker, or, with a host, the breaker of that host of the service. */
  for(service: OutsideService, host?: string): Breaker {
    if (!host) return this.#breakers.get(service)!;
    // One name, one breaker: HOOKS.example.org. is hooks.example.org.
    const name = host.toLowerCase().replace(/\.(?=$|:)/, '');
    const key = `${service} ${name}`;
    let breaker = this.#byHost.get(key);
    if (breaker) {
      this.#byHost.delete(key);
    } else {
      breaker = new Breaker(service, this.settings.timeouts[service], this.settings, name);
      const ofService = [...this.#byHost.entries()].filter(([, b]) => b.name === service);
      const idle = ofService.find(([, b]) => b.idle);
      if (ofService.length >= MAX_HOSTS && idle) this.#drop(idle[0]);
    }
    this.#byHost.set(key, breaker);
    return breaker;
  }

  /**
   * One entry per service, its counts over all its hosts and how many of its hosts' breakers are not
   * closed (`openHosts`); then one per such host (for metrics and logs: a hospital's receiver that
   * keeps failing shows here by host; /health/ready, which is public, shows only the count).
   */
  stats(): BreakerStats[] {
    const hosts = [...this.#byHost.values()].map((breaker) => breaker.stats());
    const services = [...this.#breakers.values()].map((breaker) => {
      const own = breaker.stats();
      const counts = { ...own.counts };
      for (const host of hosts) if (host.name === own.name) addCounts(counts, host.counts);
      addCounts(counts, this.#dropped.get(own.name) ?? zero());
      const openHosts = hosts.filter((h) => h.name === own.name && h.state !== 'closed').length;
      return { ...own, counts, openHosts };
    });
    return [...services, ...hosts.filter((h) => h.state !== 'closed')];
  }

  shutdown(): void {
    for (const breaker of [...this.#breakers.values(), ...this.#byHost.values()]) breaker.shutdown();
  }

  #drop(key: string): void {
    const breaker = this.#byHost.get(key)!;
    this.#byHost.delete(key);
    const total = this.#dropped.get(breaker.name) ?? zero();
    addCounts(total, breaker.stats().counts);
    this.#dropped.set(breaker.name, total);
    breaker.shutdown();
  }
}
