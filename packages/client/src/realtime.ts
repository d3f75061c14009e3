import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { createWardlineClient, type WardlineClientOptions } from './client.js';

/** The alert events the server sends over the socket and lists at `GET /api/v1/alerts/events`. */
export const ALERT_EVENT_TYPES = ['alert:new', 'alert:updated', 'alert:escalated', 'alert:resolved'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/**
 * One alert event. `seq` increases monotonically per organization. The socket sends the same
 * object as the events route lists (the route's items carry `type`; over the socket, `type` is the
 * event's name).
 */
export interface AlertEvent<Alert = Record<string, unknown>> {
  seq: number;
  type: AlertEventType;
  alert: Alert;
  [field: string]: unknown;
}

export type SubscriptionState = 'connecting' | 'syncing' | 'live' | 'closed';

export interface SubscribeAlertsOptions {
  /**
   * The last `seq` the application has already handled: events after it are delivered (default 0:
   * every event the server still lists). Pass the `seq` of the state you loaded, or the last one
   * you stored, to resume without a replay.
   */
  after?: number;
  /** Page size of the catch-up requests (default 100). */
  pageSize?: number;
  /**
   * Told of every problem: a refused handshake (`connect_error`), a disconnection by the server
   * (credential revoked, membership removed: the subscription is over), a failed catch-up (retried
   * with backoff, up to 30 s apart), an `onEvent` that threw.
   */
  onError?: (error: Error) => void;
  onStateChange?: (state: SubscriptionState) => void;
  /**
   * Told when the server no longer keeps some events the subscription needed (older than its
   * ALERT_EVENTS_RETENTION_DAYS): the events that follow are still delivered, but the application
   * should reload the alerts (`GET /api/v1/alerts`) to have their current state.
   */
  onPruned?: () => void;
  /** Extra socket.io-client options (e.g. `transports: ['websocket']`, reconnection delays). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/** Stops the subscription and closes its socket. */
export type Unsubscribe = () => void;

const EVENTS_PATH = '/api/v1/alerts/events';
const SOCKET_PATH = '/socket.io';
/** Seqs skipped by a live event are remembered (to deliver them late, once) only this far back. */
const MAX_HOLES = 10_000;
const RETRY_MS = { first: 1000, max: 30_000 };

type UntypedGet = (
  path: string,
  init: { params: { query: Record<string, unknown> }; signal?: AbortSignal },
) => Promise<{ data: unknown }>;

interface EventsPage {
  data: unknown[];
  nextCursor: string | null;
  pruned?: boolean;
}

function isEvent(value: unknown): value is AlertEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    Number.isSafeInteger((value as { seq?: unknown }).seq) &&
    ALERT_EVENT_TYPES.includes((value as { type?: AlertEventType }).type as AlertEventType)
  );
}

/**
 * Subscribes to the organization's alert events: connects a socket with the client's credentials,
 * and after every connect and reconnect fetches `GET /api/v1/alerts/events?after=<last seq>`
 * (following `nextCursor`), so nothing missed while disconnected is lost. Events reach `onEvent` in
 * `seq` order, each exactly once. Live events that arrive while a catch-up is under way wait for it;
 * one that skips a `seq` starts a catch-up for the skipped ones.
 *
 * Assumes the events route answers `{ data: [{ seq, type, alert, ... }], nextCursor }` in ascending
 * `seq`, everything after `after`, with `cursor` for the next page; and that a higher `seq` never
 * becomes visible before a lower one of the same organization.
 *
 * In a browser with a session cookie, pass no token: the socket sends the cookie
 * (`withCredentials`), from an origin the server trusts (CORS_ORIGINS).
 */
export function subscribeAlerts<Alert = Record<string, unknown>>(
  connection: WardlineClientOptions,
  onEvent: (event: AlertEvent<Alert>) => void,
  options: SubscribeAlertsOptions = {},
): Unsubscribe {
  const pageSize = options.pageSize ?? 100;
  const report = (error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error)));
  const api = createWardlineClient(connection);
  const get = api.GET as unknown as UntypedGet;
  const aborter = new AbortController();

  let lastSeq = options.after ?? 0;
  /** Seqs below lastSeq not delivered yet: skipped by a live event, maybe still to come. */
  const holes = new Set<number>();
  let held: AlertEvent[] = [];
  let syncing = false;
  let syncAgain = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const setState = (state: SubscriptionState) => {
    if (!closed || state === 'closed') options.onStateChange?.(state);
  };

  /** Delivers an event unless it was delivered before. */
  const accept = (event: AlertEvent) => {
    if (event.seq > lastSeq) {
      if (event.seq - lastSeq - 1 <= MAX_HOLES) for (let seq = lastSeq + 1; seq < event.seq; seq++) holes.add(seq);
      lastSeq = event.seq;
      for (const seq of holes) if (seq < lastSeq - MAX_HOLES) holes.delete(seq);
    } else if (!holes.delete(event.seq)) {
      return;
    }
    try {
      onEvent(event as AlertEvent<Alert>);
    } catch (error) {
      report(error);
    }
  };

  const fetchAfter = async (after: number): Promise<AlertEvent[]> => {
    const events: AlertEvent[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, unknown> = { after, limit: pageSize, ...(cursor ? { cursor } : {}) };
      const { data } = await get(EVENTS_PATH, { params: { query }, signal: aborter.signal });
      const page = data as EventsPage;
      if (page.pruned) options.onPruned?.();
      events.push(...page.data.filter(isEvent));
      cursor = page.nextCursor;
    } while (cursor !== null && !closed);
    return events;
  };

  const sync = () => {
    if (closed) return;
    if (syncing) {
      syncAgain = true;
      return;
    }
    clearTimeout(retryTimer);
    syncing = true;
    setState('syncing');
    const from = holes.size > 0 ? Math.min(...holes) - 1 : lastSeq;
    fetchAfter(from).then(
      (fetched) => {
        if (closed) return;
        failures = 0;
        const newest = fetched.reduce((max, event) => Math.max(max, event.seq), from);
        const events = [...fetched, ...held].sort((a, b) => a.seq - b.seq);
        held = [];
        for (const event of events) accept(event);
        // The server listed everything up to `newest`: a seq it skipped there does not exist.
        for (const seq of holes) if (seq <= newest) holes.delete(seq);
        finish();
        if (socket.connected && !syncing) setState('live');
      },
      (error: unknown) => {
        if (closed) return;
        // Live events are not held back behind a failing route: they go out now, and what they
        // skipped stays in `holes` for the retry to deliver.
        const events = held.sort((a, b) => a.seq - b.seq);
        held = [];
        for (const event of events) accept(event);
        report(error);
        const delay = Math.min(RETRY_MS.first * 2 ** failures++, RETRY_MS.max);
        finish();
        if (!syncing) retryTimer = setTimeout(sync, delay);
      },
    );
  };

  const finish = () => {
    syncing = false;
    if (syncAgain) {
      syncAgain = false;
      sync();
    }
  };

  const live = (type: AlertEventType, payload: unknown) => {
    if (closed || typeof payload !== 'object' || payload === null) return;
    const event = { ...payload, type } as AlertEvent;
    if (!isEvent(event)) return;
    if (syncing) {
      held.push(event);
    } else if (event.seq <= lastSeq || event.seq === lastSeq + 1) {
      accept(event);
    } else {
      held.push(event);
      sync();
    }
  };

  const token = connection.token ?? connection.apiKey;
  const socket: Socket = io(connection.baseUrl, {
    path: SOCKET_PATH,
    forceNew: true,
    withCredentials: true,
    auth: {
      ...(token ? { token } : {}),
      ...(connection.organizationId ? { organizationId: connection.organizationId } : {}),
    },
    ...options.socket,
  });
  setState('connecting');
  socket.on('connect', sync);
  socket.on('disconnect', (reason) => {
    if (closed) return;
    if (reason === 'io server disconnect') {
      report(new Error('the server ended the subscription: the credential was revoked or the membership removed'));
      setState('closed');
    } else {
      setState('connecting');
    }
  });
  socket.on('connect_error', (error) => {
    if (closed) return;
    report(error);
    // Refused by the server (not a network failure): socket.io-client does not try again.
    if (!socket.active) setState('closed');
  });
  for (const type of ALERT_EVENT_TYPES) socket.on(type, (payload: unknown) => live(type, payload));

  return () => {
    if (closed) return;
    closed = true;
    clearTimeout(retryTimer);
    aborter.abort();
    socket.removeAllListeners();
    socket.disconnect();
    setState('closed');
  };
}
