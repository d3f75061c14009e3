import type { Server as HttpServer } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { type DefaultEventsMap, Server, type ServerOptions, type Socket } from 'socket.io';
import type { CsrfPolicy } from '../auth/csrf.js';
import { SECURITY_HEADERS } from '../http/security-headers.js';
import type { TenantContext } from '../tenancy/context.js';
import { Broadcast } from './broadcaster.js';
import { type ClientToServerEvents, rooms, type ServerToClientEvents, type SocketData } from './events.js';
import { callerOf, type Credentials, credentialsOf, HandshakeRefused } from './handshake.js';
import type { HospitalDirectory } from './hospital-directory.js';

type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;
type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;

export const SOCKET_PATH = '/socket.io';
/** How many credentials a recheck verifies at the same time. */
const RECHECK_CONCURRENCY = 10;

export interface RealtimeOptions {
  app: FastifyInstance;
  log: FastifyBaseLogger;
  csrf: () => Promise<CsrfPolicy>;
  hospitals: HospitalDirectory;
  corsOrigins: string[];
  /** socket.io connection state recovery window; 0 turns recovery off. */
  recoveryMs: number;
  recheckMs: number;
  adapter?: ServerOptions['adapter'];
}

export interface RealtimeStats {
  /** Sockets connected to this instance. */
  sockets: number;
  /** Whether socket.io is attached to the HTTP server (after `ready`, until `close`). */
  attached: boolean;
  adapter: 'memory' | 'redis';
}

/** What a socket was admitted with: kept in memory only, never in its session (which Redis may hold). */
interface Admission {
  credentials: Credentials;
  ctx: TenantContext;
  rooms: Set<string>;
}

/**
 * socket.io on the app's HTTP server: sockets authenticate at the handshake (session cookie, or
 * `auth: { token }`), join the rooms of their organization, user, role and hospitals, and receive
 * what modules broadcast through `toOrganization`, `toHospital` and `toUser`. Sockets send nothing.
 */
export class Realtime {
  readonly server: RealtimeServer;
  private attachedTo: HttpServer | undefined;
  private closed = false;
  private readonly admissions = new WeakMap<RealtimeSocket, Admission>();
  /** Missed packets of recovered sessions, held back until the handshake is re-authenticated. */
  private readonly heldBack = new WeakMap<object, unknown[][]>();
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking: Promise<RecheckResult> | undefined;

  constructor(private readonly options: RealtimeOptions) {
    const { corsOrigins, recoveryMs } = options;
    this.server = new Server<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>({
      path: SOCKET_PATH,
      serveClient: false,
      // Clients send only the handshake (with a token): nothing large ever needs to arrive.
      maxHttpBufferSize: 64 * 1024,
      ...(corsOrigins.length > 0 ? { cors: { origin: corsOrigins, credentials: true } } : {}),
      ...(recoveryMs > 0
        ? // The handshake is authenticated again on recovery: a revoked credential never gets its session back.
          { connectionStateRecovery: { maxDisconnectionDuration: recoveryMs, skipMiddlewares: false } }
        : {}),
      ...(options.adapter ? { adapter: options.adapter } : {}),
    });
    this.holdBackMissedPackets();
    this.server.use((socket, next) => {
      this.admit(socket).then(
        () => next(),
        (error: unknown) => next(this.refusal(error)),
      );
    });
    this.server.on('connection', (socket) => this.connected(socket));
  }

  /** Listens for sockets at /socket.io on the app's HTTP server (after `ready`, as socket.io attaches to a live server). */
  attach(httpServer: HttpServer): void {
    if (this.attachedTo || this.closed) return;
    this.server.attach(httpServer);
    this.attachedTo = httpServer;
    // Polling answers bypass Fastify: they get the API's security headers here.
    this.server.engine.on('headers', (headers: Record<string, string>) => {
      for (const [name, value] of SECURITY_HEADERS) headers[name] = value;
      headers['cache-control'] = 'no-store';
    });
    this.recheckTimer = setInterval(() => void this.recheck(), this.options.recheckMs).unref();
  }

  /** Every socket of the organization. */
  toOrganization(organizationId: string): Broadcast {
    return this.broadcast(organizationId, rooms.organization(organizationId));
  }

  /** Every socket that sees this hospital of the organization. */
  toHospital(organizationId: string, hospitalId: string): Broadcast {
    return this.broadcast(organizationId, rooms.hospital(organizationId, hospitalId));
  }

  /** Every socket of this user in this organization (their other organizations' sockets do not get it). */
  toUser(organizationId: string, userId: string): Broadcast {
    return this.broadcast(organizationId, rooms.user(organizationId, userId));
  }

  stats(): RealtimeStats {
    return {
      sockets: this.server.of('/').sockets.size,
      attached: this.attachedTo !== undefined,
      adapter: this.options.adapter ? 'redis' : 'memory',
    };
  }

  /**
   * Checks every socket's credential again (each distinct credential once), as a new handshake
   * would: sockets whose session was revoked or expired, whose API key was deleted, or whose user
   * left the organization are disconnected; a changed role or new hospitals update their rooms.
   * Runs every REALTIME_RECHECK_SECONDS; a lookup that fails (database down) keeps the socket.
   */
  recheck(): Promise<RecheckResult> {
    this.rechecking ??= this.recheckAll().finally(() => (this.rechecking = undefined));
    return this.rechecking;
  }

  /**
   * Disconnects every socket ("server shutting down": with recovery on, a client reconnecting to
   * another instance gets its missed events) and stops socket.io, leaving the HTTP server to Fastify.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.recheckTimer);
    await this.rechecking?.catch(() => {});
    // socket.io's close() would also close the HTTP server and wait for every connection to end;
    // Fastify does that itself, after this.
    (this.server as unknown as { httpServer: HttpServer | undefined }).httpServer = undefined;
    await this.server.close();
  }

  private broadcast(organizationId: string, room: string): Broadcast {
    return new Broadcast(() => (this.closed ? undefined : this.server), organizationId, room);
  }

  /** Rooms a caller belongs in: organization, user, role, and each active hospital. */
  private async roomsOf(ctx: TenantContext): Promise<Set<string>> {
    const hospitalIds = await this.options.hospitals.activeHospitalIds(ctx);
    return new Set([
      rooms.organization(ctx.organizationId),
      rooms.user(ctx.organizationId, ctx.user.id),
      rooms.role(ctx.organizationId, ctx.role),
      ...hospitalIds.map((id) => rooms.hospital(ctx.organizationId, id)),
    ]);
  }

  /** The middleware: authenticates the handshake and works out the socket's rooms (joined on connection). */
  private async admit(socket: RealtimeSocket): Promise<void> {
    const { handshake } = socket;
    const credentials = credentialsOf({
      headers: handshake.headers,
      auth: handshake.auth ?? {},
      address: handshake.address,
    });
    const previous = socket.recovered ? { ...socket.data } : undefined;
    const held = socket.recovered ? this.heldBack.get(socket.data) : undefined;
    const ctx = await callerOf(this.options.app, credentials, await this.options.csrf(), socket.id, handshake.address);
    const joined = await this.roomsOf(ctx);
    socket.data = { userId: ctx.user.id, organizationId: ctx.organizationId, role: ctx.role };
    this.admissions.set(socket, { credentials, ctx, rooms: joined });
    // Replayed only to the same user, in the same organization and role, as before the drop: anything
    // else (and any doubt) leaves the client to ask the events route for what it missed.
    const same =
      previous?.userId === ctx.user.id && previous.organizationId === ctx.organizationId && previous.role === ctx.role;
    if (held && same) this.heldBack.set(socket.data, held);
  }

  private connected(socket: RealtimeSocket): void {
    const admission = this.admissions.get(socket);
    if (!admission) {
      socket.disconnect(true);
      return;
    }
    this.syncRooms(socket, admission.rooms);
    socket.emit('realtime:ready', {
      organizationId: admission.ctx.organizationId,
      userId: admission.ctx.user.id,
      recovered: socket.recovered,
    });
    const missed = this.heldBack.get(socket.data);
    this.heldBack.delete(socket.data);
    for (const packet of missed ?? []) {
      // [event, ...args, offset]: sent again through socket.emit, which records a new offset.
      const [event, ...args] = packet as [string, ...unknown[]];
      args.pop();
      (socket as unknown as { emit(event: string, ...args: unknown[]): boolean }).emit(event, ...args);
    }
  }

  /** Leaves the rooms the socket no longer belongs in and joins the missing ones (its own id room stays). */
  private syncRooms(socket: RealtimeSocket, wanted: Set<string>): void {
    for (const room of socket.rooms) {
      if (room !== socket.id && !wanted.has(room)) void socket.leave(room);
    }
    const missing = [...wanted].filter((room) => !socket.rooms.has(room));
    if (missing.length > 0) void socket.join(missing);
  }

  /**
   * socket.io writes a recovered session's missed packets to the client while it builds the socket,
   * before any middleware has run, so a client whose credential was revoked meanwhile would still
   * receive them. They are taken out of the restored session here and sent once the handshake has
   * been authenticated again (see `admit` and `connected`).
   */
  private holdBackMissedPackets(): void {
    const adapter = this.server.of('/').adapter as unknown as {
      restoreSession(pid: string, offset: string): Promise<{ data?: object; missedPackets: unknown[][] } | undefined>;
    };
    const restore = adapter.restoreSession.bind(adapter);
    adapter.restoreSession = async (pid, offset) => {
      const session = await restore(pid, offset);
      if (session) {
        session.data ??= {};
        if (session.missedPackets.length > 0) this.heldBack.set(session.data, session.missedPackets);
        session.missedPackets = [];
      }
      return session;
    };
  }

  private refusal(error: unknown): Error {
    if (error instanceof HandshakeRefused) return error;
    this.options.log.error({ err: error, source: 'realtime' }, 'socket handshake failed');
    return new HandshakeRefused('SERVICE_UNAVAILABLE', 'the server could not check these credentials: retry shortly');
  }

  private async recheckAll(): Promise<RecheckResult> {
    const result: RecheckResult = { checked: 0, disconnected: 0 };
    if (this.closed) return result;
    this.options.hospitals.prune();
    const groups = new Map<string, RealtimeSocket[]>();
    for (const socket of this.server.of('/').sockets.values()) {
      const admission = this.admissions.get(socket);
      if (!admission) continue;
      const group = groups.get(admission.credentials.key);
      if (group) group.push(socket);
      else groups.set(admission.credentials.key, [socket]);
    }
    const queue = [...groups.values()];
    const worker = async () => {
      for (let sockets = queue.shift(); sockets; sockets = queue.shift()) {
        result.checked += sockets.length;
        result.disconnected += await this.recheckGroup(sockets);
      }
    };
    await Promise.all(Array.from({ length: RECHECK_CONCURRENCY }, worker));
    return result;
  }

  /** Rechecks sockets sharing one credential; returns how many were disconnected. */
  private async recheckGroup(sockets: RealtimeSocket[]): Promise<number> {
    const first = this.admissions.get(sockets[0]!)!;
    let ctx: TenantContext;
    let wanted: Set<string>;
    try {
      ctx = await callerOf(this.options.app, first.credentials, await this.options.csrf(), sockets[0]!.id, '');
      wanted = await this.roomsOf(ctx);
    } catch (error) {
      if (!(error instanceof HandshakeRefused)) {
        this.options.log.warn({ err: error, source: 'realtime' }, 'socket recheck failed; sockets kept');
        return 0;
      }
      for (const socket of sockets) socket.disconnect(true);
      return sockets.length;
    }
    for (const socket of sockets) {
      const admission = this.admissions.get(socket);
      if (!admission || !socket.connected) continue;
      admission.ctx = { ...ctx, requestId: `socket:${socket.id}` };
      admission.rooms = wanted;
      socket.data = { userId: ctx.user.id, organizationId: ctx.organizationId, role: ctx.role };
      this.syncRooms(socket, wanted);
    }
    return 0;
  }
}

export interface RecheckResult {
  /** Sockets whose credential was checked. */
  checked: number;
  /** Sockets disconnected because their credential no longer admits them. */
  disconnected: number;
}
