import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertEvent, subscribeAlerts } from '../packages/client/src/realtime.js';
import { buildTestApp, createTenant, type Tenant, type TestApp } from './helpers/test-app.js';

// The client's real-time helper against a real server. The events route belongs to the alerts
// module: here a fake fetch serves `GET /api/v1/alerts/events` from an in-memory list, and
// everything else goes to the server.

let t: TestApp;
let url: string;
let tenant: Tenant;

interface Stored {
  seq: number;
  type: 'alert:new' | 'alert:updated';
  alert: { id: string };
}

/** An organization's durable event list, and the route that pages through it. */
function eventStore(pageSize = 2) {
  const events: Stored[] = [];
  const seen: { after: string | null; cursor: string | null; authorization: string | null }[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    const at = new URL(request.url);
    if (at.pathname !== '/api/v1/alerts/events') return globalThis.fetch(request);
    seen.push({
      after: at.searchParams.get('after'),
      cursor: at.searchParams.get('cursor'),
      authorization: request.headers.get('authorization'),
    });
    const after = Number(at.searchParams.get('cursor') ?? at.searchParams.get('after') ?? 0);
    const rest = events.filter((event) => event.seq > after);
    const data = rest.slice(0, pageSize);
    const nextCursor = rest.length > pageSize ? String(data[data.length - 1]!.seq) : null;
    return Response.json({ data, nextCursor });
  };
  return { events, seen, fetch };
}

/** Records an event durably and broadcasts it, as the alerts module will. */
function raise(store: ReturnType<typeof eventStore>, event: Stored, live = true) {
  store.events.push(event);
  if (!live) return;
  const { type, ...payload } = event;
  (
    t.app.realtime.toOrganization(tenant.organizationId) as unknown as {
      emit(name: string, payload: unknown): void;
    }
  ).emit(type, payload);
}

const until = async (check: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const fast = { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 200, randomizationFactor: 0 };

beforeAll(async () => {
  t = await buildTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  tenant = await createTenant(t.app);
});
afterAll(() => t.close());

describe('subscribeAlerts', () => {
  it('catches up on connect, delivers live events, resyncs after a reconnect, and never twice', async () => {
    const store = eventStore();
    const alert = (n: number) => ({ id: `alert-${n}` });
    // Before the subscription: 1 was handled already (after: 1), 2 and 3 are to be caught up.
    for (const seq of [1, 2, 3]) raise(store, { seq, type: 'alert:new', alert: alert(seq) }, false);
    const got: AlertEvent<{ id: string }>[] = [];
    const states: string[] = [];
    const errors: Error[] = [];
    const unsubscribe = subscribeAlerts<{ id: string }>(
      { baseUrl: url, token: tenant.users.nurse.token, fetch: store.fetch },
      (event) => got.push(event),
      { after: 1, onStateChange: (s) => states.push(s), onError: (e) => errors.push(e), socket: fast },
    );
    await until(() => states.at(-1) === 'live');
    expect(got.map((e) => e.seq)).toEqual([2, 3]);
    expect(store.seen[0]).toEqual({ after: '1', cursor: null, authorization: `Bearer ${tenant.users.nurse.token}` });

    raise(store, { seq: 4, type: 'alert:updated', alert: alert(1) });
    await until(() => got.length === 3);
    expect(got[2]).toEqual({ seq: 4, type: 'alert:updated', alert: alert(1) });

    // The connection drops; two events are raised meanwhile (one also lost by the socket entirely).
    const server = t.app.realtime.server.of('/');
    for (const socket of server.sockets.values()) socket.conn.close();
    await until(() => states.at(-1) === 'connecting');
    raise(store, { seq: 5, type: 'alert:new', alert: alert(5) });
    raise(store, { seq: 6, type: 'alert:new', alert: alert(6) }, false);
    raise(store, { seq: 7, type: 'alert:new', alert: alert(7) });
    await until(() => got.length === 6);
    await until(() => states.at(-1) === 'live');
    // Recovery replays 5 and 7 over the socket, the catch-up lists 5, 6 and 7: each comes once, in order.
    expect(got.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(store.seen.at(-1)?.after).toBe('4');

    // A live event that skips a seq (8 never reached the socket) makes the helper ask for it.
    raise(store, { seq: 8, type: 'alert:new', alert: alert(8) }, false);
    raise(store, { seq: 9, type: 'alert:new', alert: alert(9) });
    await until(() => got.length === 8);
    expect(got.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got).toHaveLength(8);
    expect(errors).toEqual([]);

    unsubscribe();
    expect(states.at(-1)).toBe('closed');
    await until(() => t.app.realtime.stats().sockets === 0);
  });

  it('reports a refused handshake and stops', async () => {
    const errors: Error[] = [];
    const states: string[] = [];
    const unsubscribe = subscribeAlerts({ baseUrl: url, token: 'not-a-token' }, () => {}, {
      onError: (e) => errors.push(e),
      onStateChange: (s) => states.push(s),
      socket: fast,
    });
    await until(() => states.at(-1) === 'closed');
    expect(errors[0]?.message).toBe('sign in, or pass a bearer token or API key as auth.token');
    unsubscribe();
  });
});
